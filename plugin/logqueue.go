package plugin

import (
	"log/slog"
	"strconv"
	"sync"
)

// maxQueuedLines bounds the lines waiting for the host's thread: a plugin
// that gets no call for a long while keeps the newest lines and says how
// many it lost.
const maxQueuedLines = 10000

// logQueue carries log lines from any goroutine to a LogSink that takes
// lines only on the host's own threads. Fluent Bit's logger is one: on a
// thread it did not create (a goroutine's), flb_log_print writes to stderr
// and never to the log_file an operator reads. Lines wait here until an
// export of the plugin, running on a Fluent Bit thread, drains them, in
// the order they were logged.
type logQueue struct {
	mu    sync.Mutex
	lines []queuedLine
	lost  int
	// printing keeps concurrent drains (Fluent Bit workers) from
	// interleaving lines out of order.
	printing sync.Mutex
}

type queuedLine struct {
	sink  LogSink
	level slog.Level
	text  string
}

// push queues a line for sink.
func (q *logQueue) push(sink LogSink, level slog.Level, text string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.lines) >= maxQueuedLines {
		copy(q.lines, q.lines[1:])
		q.lines = q.lines[:len(q.lines)-1]
		q.lost++
	}
	q.lines = append(q.lines, queuedLine{sink, level, text})
}

// drain prints every queued line to its sink, in order. It must run on a
// thread the sinks accept.
func (q *logQueue) drain() {
	q.printing.Lock()
	defer q.printing.Unlock()
	q.mu.Lock()
	lines, lost := q.lines, q.lost
	q.lines, q.lost = nil, 0
	q.mu.Unlock()
	if lost > 0 && len(lines) > 0 {
		lines[0].sink.Print(slog.LevelWarn, "["+Name+"] "+strconv.Itoa(lost)+" log lines were lost: no call from Fluent Bit came to print them")
	}
	for _, l := range lines {
		l.sink.Print(l.level, l.text)
	}
}

// queuedSink is a LogSink whose lines wait in a logQueue for the host's thread.
type queuedSink struct {
	q    *logQueue
	sink LogSink
}

func (s queuedSink) Print(level slog.Level, line string) { s.q.push(s.sink, level, line) }
