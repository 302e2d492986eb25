package keyspace

// zsetSetMembers calls fn for every member of a plain set object (ZUNION/ZINTER/ZDIFF accept sets as inputs
// with every score 1).
func zsetSetMembers(o *Object, fn func(string)) {
	o.Val().(*Set).ForEachMember(func(m string) bool { fn(m); return true })
}
