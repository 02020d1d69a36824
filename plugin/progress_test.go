package plugin

import (
	"testing"
	"time"
)

func TestProgressStore(t *testing.T) {
	s := newProgressStore(2, time.Hour)
	now := time.Unix(1000, 0)
	s.now = func() time.Time { return now }
	chunk := []byte("chunk-a")

	key, p := s.acquire("tag", chunk, 3)
	p.done[0] = true
	s.release(key, p, false)
	if s.len() != 1 {
		t.Fatalf("partial progress not kept")
	}

	// The same chunk and tag resume; another tag does not.
	_, other := s.acquire("other", chunk, 3)
	if other.done[0] {
		t.Error("progress leaked to a chunk with another tag")
	}
	key2, again := s.acquire("tag", chunk, 3)
	if !again.done[0] || again.done[1] {
		t.Fatalf("resumed progress = %v", again.done)
	}
	// While it is in use, an identical chunk gets its own progress.
	_, twin := s.acquire("tag", chunk, 3)
	if twin.done[0] {
		t.Error("a concurrent identical chunk shared the progress")
	}
	s.release(key2, again, true)
	if s.len() != 0 {
		t.Error("completed progress not forgotten")
	}

	// Nothing done: nothing to remember.
	k, p0 := s.acquire("tag", []byte("b"), 2)
	s.release(k, p0, false)
	if s.len() != 0 {
		t.Error("progress with nothing done was stored")
	}

	// Bounded by count (oldest out) and by age.
	for i, c := range []string{"c1", "c2", "c3"} {
		now = now.Add(time.Duration(i+1) * time.Second)
		k, p := s.acquire("tag", []byte(c), 1)
		p.done[0] = true
		s.release(k, p, false)
	}
	if s.len() != 2 {
		t.Errorf("store holds %d entries, max 2", s.len())
	}
	if _, p := s.acquire("tag", []byte("c1"), 1); p.done[0] {
		t.Error("oldest entry should have been evicted")
	}
	now = now.Add(2 * time.Hour)
	k, p = s.acquire("tag", []byte("c4"), 1)
	p.done[0] = true
	s.release(k, p, false)
	if s.len() != 1 {
		t.Errorf("expired entries kept: %d", s.len())
	}
}
