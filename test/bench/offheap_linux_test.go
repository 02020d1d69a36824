package bench

import (
	"syscall"
	"testing"
)

// offHeap returns a copy of b in memory outside the Go heap, where Fluent
// Bit's chunks are, so that it does not count in heap measurements.
func offHeap(tb testing.TB, b []byte) []byte {
	tb.Helper()
	m, err := syscall.Mmap(-1, 0, len(b), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = syscall.Munmap(m) })
	copy(m, b)
	return m
}
