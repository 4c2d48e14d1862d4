package inbox

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// IDs are ULIDs: sortable by creation time, so message and activity ids double
// as sort keys.

var (
	entropyMu sync.Mutex
	entropy   = ulid.Monotonic(rand.Reader, 0)
)

// NewID returns a new ULID for the given time.
func NewID(t time.Time) string {
	entropyMu.Lock()
	defer entropyMu.Unlock()
	return ulid.MustNew(ulid.Timestamp(t), entropy).String()
}

// ValidID reports whether s looks like an id Parley issued.
func ValidID(s string) bool {
	_, err := ulid.ParseStrict(s)
	return err == nil
}

// Clock tells the time; tests substitute a fixed one.
type Clock interface{ Now() time.Time }

// SystemClock is the real clock, in UTC.
type SystemClock struct{}

func (SystemClock) Now() time.Time { return time.Now().UTC() }

// keyHash is the hash of a caller's Idempotency-Key. Ids made from it share
// its first ten bytes as their ULID entropy.
type keyHash [sha256.Size]byte

func hashKey(actor Actor, key string) keyHash {
	return sha256.Sum256([]byte(actor.WorkspaceID + "\x00" + actor.UserID + "\x00" + key))
}

// newID makes the id of a message created under this key at time t.
func (k keyHash) newID(t time.Time) string {
	return ulid.MustNew(ulid.Timestamp(t), bytes.NewReader(k[:10])).String()
}

// made reports whether id was made from this key.
func (k keyHash) made(id string) bool {
	u, err := ulid.ParseStrict(id)
	return err == nil && bytes.Equal(u.Entropy(), k[:10])
}
