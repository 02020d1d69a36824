package plugin

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/keeper-azmon/keeper-azmon/azmon"
)

// progressKey identifies a chunk by its content and tag.
type progressKey struct {
	hash uint64
	size int
}

// progress is what a chunk has settled so far: done[i] is true once record
// i was accepted by the service or dropped on purpose.
type progress struct {
	done    azmon.Progress
	busy    bool // a flush of this chunk is under way
	stored  bool // kept in the store (false for a private copy)
	touched time.Time
}

// progressStore remembers the partial progress of chunks whose flush
// answered FLB_RETRY, so that Fluent Bit's retry of the same chunk sends
// only what is still pending. It is bounded in entries and in age.
type progressStore struct {
	mu      sync.Mutex
	seed    maphash.Seed
	entries map[progressKey]*progress
	max     int
	ttl     time.Duration
	now     func() time.Time
}

func newProgressStore(max int, ttl time.Duration) *progressStore {
	return &progressStore{seed: maphash.MakeSeed(), entries: make(map[progressKey]*progress), max: max, ttl: ttl, now: time.Now}
}

// acquire returns the progress of the chunk, with n records: the stored one
// if an earlier flush of the same chunk left some, else a fresh one.
func (s *progressStore) acquire(tag string, chunk []byte, n int) (progressKey, *progress) {
	var h maphash.Hash
	h.SetSeed(s.seed)
	h.WriteString(tag)
	h.WriteByte(0)
	h.Write(chunk)
	key := progressKey{hash: h.Sum64(), size: len(chunk)}

	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.entries[key]; p != nil && !p.busy && len(p.done) == n {
		p.busy = true
		return key, p
	}
	// A second chunk with the same bytes in flight at once gets its own
	// progress, so that neither skips records the other has sent.
	return key, &progress{done: azmon.NewProgress(n), busy: true}
}

// release ends a flush: a complete chunk is forgotten, an incomplete one is
// kept for the retry.
func (s *progressStore) release(key progressKey, p *progress, complete bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p.busy = false
	if complete {
		if p.stored && s.entries[key] == p {
			delete(s.entries, key)
		}
		return
	}
	if !p.done.Any() {
		return // nothing to remember: a retry starts from scratch anyway
	}
	now := s.now()
	p.touched = now
	if cur := s.entries[key]; cur != nil && cur != p && cur.busy {
		return
	}
	s.entries[key] = p
	p.stored = true
	s.evict(now)
}

// evict drops entries older than ttl, then the oldest while over max.
func (s *progressStore) evict(now time.Time) {
	for k, p := range s.entries {
		if !p.busy && now.Sub(p.touched) > s.ttl {
			delete(s.entries, k)
		}
	}
	for len(s.entries) > s.max {
		var oldest progressKey
		var t time.Time
		for k, p := range s.entries {
			if !p.busy && (t.IsZero() || p.touched.Before(t)) {
				oldest, t = k, p.touched
			}
		}
		if t.IsZero() {
			return
		}
		delete(s.entries, oldest)
	}
}

// len is the number of chunks remembered.
func (s *progressStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}
