package keyspace

import (
	"sort"
	"strings"
)

// Flags describe a command as Redis's command table does (COMMAND INFO reports them by name).
type Flags uint32

// Command flags.
const (
	FlagWrite Flags = 1 << iota
	FlagReadonly
	FlagDenyOOM
	FlagAdmin
	FlagPubSub
	FlagNoScript
	FlagBlocking
	FlagLoading
	FlagStale
	FlagSkipMonitor
	FlagSkipSlowlog
	FlagFast
	FlagNoAuth
	FlagMayReplicate
	FlagNoMandatoryKeys
	FlagNoMulti
	FlagMovableKeys
	FlagAllowBusy
)

var flagNames = []string{"write", "readonly", "denyoom", "admin", "pubsub", "noscript", "blocking", "loading",
	"stale", "skip_monitor", "skip_slowlog", "fast", "no_auth", "may_replicate", "no_mandatory_keys", "no_multi",
	"movablekeys", "allow_busy"}

// Names returns the flag names in Redis's spelling.
func (f Flags) Names() []string {
	var out []string
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// Category is a bit set of ACL categories.
type Category uint32

// ACL categories (Redis 7).
const (
	CatKeyspace Category = 1 << iota
	CatRead
	CatWrite
	CatSet
	CatSortedSet
	CatList
	CatHash
	CatString
	CatBitmap
	CatHyperLogLog
	CatGeo
	CatStream
	CatPubSub
	CatAdmin
	CatFast
	CatSlow
	CatBlocking
	CatDangerous
	CatConnection
	CatTransaction
	CatScripting
)

// CategoryNames lists the ACL category names in bit order (without the '@').
var CategoryNames = []string{"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
	"hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection",
	"transaction", "scripting"}

// Names returns the categories as "@name".
func (c Category) Names() []string {
	var out []string
	for i, n := range CategoryNames {
		if c&(1<<i) != 0 {
			out = append(out, "@"+n)
		}
	}
	return out
}

// Command is one entry of the command table.
type Command struct {
	// Name is the lowercase command name ("get"), or the subcommand name ("setname") for a subcommand.
	Name string
	// Arity follows Redis: N means exactly N arguments (name included), -N at least N.
	Arity int
	Flags Flags
	// FirstKey, LastKey, Step locate the keys in the arguments (LastKey -1 = last argument, -2 = one before).
	FirstKey, LastKey, Step int
	// Categories are the ACL categories; those implied by flags are added by Register.
	Categories Category
	// Group is the documentation group ("string", "generic", "connection", ...), Summary a one-line doc,
	// Since the Redis version that introduced it.
	Group, Summary, Since string
	// Handler runs the command; nil for container commands that only dispatch to Subcommands.
	Handler func(*Ctx)
	// Keys, when set, returns the key argument indexes for commands with movable keys (ZUNIONSTORE ...).
	Keys func(args [][]byte) []int
	// Subcommands of a container command (CLIENT, CONFIG, OBJECT ...), by lowercase name.
	Subcommands map[string]*Command
	// Parent is the container of a subcommand.
	Parent *Command
}

// FullName is "name" or "parent|name" as Redis reports it in errors and ACL rules.
func (c *Command) FullName() string {
	if c.Parent != nil {
		return c.Parent.Name + "|" + c.Name
	}
	return c.Name
}

// KeyIndexes returns the indexes of key arguments in args.
func (c *Command) KeyIndexes(args [][]byte) []int { return c.AppendKeyIndexes(nil, args) }

// AppendKeyIndexes appends the indexes of key arguments in args to buf: no allocation for commands whose
// keys sit at fixed positions when buf has room (callers on the command path pass a stack array).
func (c *Command) AppendKeyIndexes(buf []int, args [][]byte) []int {
	if c.Keys != nil {
		if cap(buf) == 0 {
			return c.Keys(args)
		}
		return append(buf, c.Keys(args)...)
	}
	if c.FirstKey <= 0 {
		return buf
	}
	last := c.LastKey
	if last < 0 {
		last = len(args) + last
	}
	step := max(c.Step, 1)
	for i := c.FirstKey; i <= last && i < len(args); i += step {
		buf = append(buf, i)
	}
	return buf
}

var table = map[string]*Command{}

// Register adds commands to the table (at init time); it derives Redis's implicit ACL categories from flags.
func Register(cmds ...*Command) {
	for _, c := range cmds {
		implicitCategories(c)
		for _, s := range c.Subcommands {
			s.Parent = c
			implicitCategories(s)
		}
		table[c.Name] = c
	}
}

func implicitCategories(c *Command) {
	if c.Flags&FlagWrite != 0 {
		c.Categories |= CatWrite
	}
	if c.Flags&FlagReadonly != 0 && c.Categories&CatScripting == 0 {
		c.Categories |= CatRead
	}
	if c.Flags&FlagAdmin != 0 {
		c.Categories |= CatAdmin | CatDangerous
	}
	if c.Flags&FlagPubSub != 0 {
		c.Categories |= CatPubSub
	}
	if c.Flags&FlagFast != 0 {
		c.Categories |= CatFast
	}
	if c.Flags&FlagBlocking != 0 {
		c.Categories |= CatBlocking
	}
	if c.Categories&CatFast == 0 {
		c.Categories |= CatSlow
	}
}

// Lookup finds a command by name, case-insensitively, without allocating; nil when unknown.
func Lookup(name []byte) *Command {
	var buf [32]byte
	if len(name) > len(buf) {
		return table[strings.ToLower(string(name))]
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	return table[string(buf[:len(name)])]
}

// LookupSub finds a subcommand of c by name; nil when unknown.
func (c *Command) LookupSub(name []byte) *Command {
	if c.Subcommands == nil {
		return nil
	}
	return c.Subcommands[strings.ToLower(string(name))]
}

// Commands returns every registered top-level command, sorted by name.
func Commands() []*Command {
	out := make([]*Command, 0, len(table))
	for _, c := range table {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Resolve finds the command (or subcommand) that args invoke and checks its arity. It returns the command
// and "" on success, or the exact Redis error to reply with.
func Resolve(args [][]byte) (*Command, string) {
	cmd := Lookup(args[0])
	if cmd == nil {
		return nil, unknownCommand(args)
	}
	if cmd.Subcommands != nil && len(args) >= 2 {
		sub := cmd.LookupSub(args[1])
		if sub == nil {
			if cmd.Handler != nil {
				// Containers with their own handler (e.g. a help-less form) fall through.
				return checkArity(cmd, args)
			}
			return nil, "ERR unknown subcommand '" + clip(string(args[1]), 128) + "'. Try " + strings.ToUpper(cmd.Name) + " HELP."
		}
		return checkArity(sub, args)
	}
	return checkArity(cmd, args)
}

func checkArity(cmd *Command, args [][]byte) (*Command, string) {
	if (cmd.Arity > 0 && len(args) != cmd.Arity) || (cmd.Arity < 0 && len(args) < -cmd.Arity) {
		return cmd, ErrArity(cmd.FullName())
	}
	return cmd, ""
}

func unknownCommand(args [][]byte) string {
	var rest strings.Builder
	for _, a := range args[1:] {
		if rest.Len() >= 128 {
			break
		}
		rest.WriteString("'")
		rest.WriteString(clip(string(a), 128-rest.Len()))
		rest.WriteString("' ")
	}
	return "ERR unknown command '" + clip(string(args[0]), 128) + "', with args beginning with: " + rest.String()
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
