package acl

// LogEntry is one ACL LOG entry: similar denials (same reason, context, object and user within a minute)
// are grouped into one entry with a count, as in Redis.
type LogEntry struct {
	Count      int64
	Reason     Denial
	Context    string // "toplevel" or "multi"
	Object     string // the command, key, channel, or for auth failures the command name as typed
	Username   string
	ClientInfo string // CLIENT LIST line of the client at its last occurrence
	EntryID    int64
	Created    int64 // Unix ms of the first occurrence
	Updated    int64 // Unix ms of the last occurrence
}

// groupWindow is how far apart (ms) two denials may be and still share an entry.
const groupWindow = 60000

// DefaultLogMax is Redis's acllog-max-len.
const DefaultLogMax = 128

// Log keeps the most recent denials, newest first. It is not safe for concurrent use.
type Log struct {
	entries []*LogEntry
	nextID  int64
	// Max bounds the number of entries (0 = DefaultLogMax).
	Max int
}

// Add records a denial at e.Updated (ms): a matching entry among the 10 newest is bumped to the front,
// otherwise a new entry is added and the oldest beyond Max dropped.
func (l *Log) Add(e LogEntry) {
	for i := 0; i < len(l.entries) && i < 10; i++ {
		cur := l.entries[i]
		d := cur.Updated - e.Updated
		if d < 0 {
			d = -d
		}
		if cur.Reason == e.Reason && cur.Context == e.Context && d <= groupWindow && cur.Object == e.Object &&
			cur.Username == e.Username {
			cur.Count++
			cur.Updated = e.Updated
			cur.ClientInfo = e.ClientInfo
			copy(l.entries[1:i+1], l.entries[:i])
			l.entries[0] = cur
			return
		}
	}
	n := e
	n.Count = 1
	n.EntryID = l.nextID
	n.Created = e.Updated
	l.nextID++
	l.entries = append(l.entries, nil)
	copy(l.entries[1:], l.entries)
	l.entries[0] = &n
	max := l.Max
	if max <= 0 {
		max = DefaultLogMax
	}
	if len(l.entries) > max {
		l.entries = l.entries[:max]
	}
}

// Entries returns up to n entries, newest first.
func (l *Log) Entries(n int) []LogEntry {
	n = min(max(n, 0), len(l.entries))
	out := make([]LogEntry, n)
	for i := range out {
		out[i] = *l.entries[i]
	}
	return out
}

// Reset empties the log (entry ids keep increasing).
func (l *Log) Reset() { l.entries = nil }

// Len returns the number of entries.
func (l *Log) Len() int { return len(l.entries) }
