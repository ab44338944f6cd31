package e2e

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Line is one line of the guest's serial console with the host time it
// arrived.
type Line struct {
	Text string
	At   time.Time
}

// console reads the guest's serial console line by line, keeps every line
// (a whole run is a few MB at most) and copies them, timestamped, to a log.
// Writers send the framed jobs of serial-loop (see image/guest/usr/local/
// lib/e2e/serial-loop).
type console struct {
	conn net.Conn
	log  io.Writer
	t0   time.Time

	mu     sync.Mutex
	lines  []Line
	notify chan struct{}
	err    error
	done   chan struct{}

	wmu sync.Mutex

	onLine atomic.Pointer[func(string)] // called by the reader for every line
}

func newConsole(conn net.Conn, log io.Writer) *console {
	c := &console{conn: conn, log: log, t0: time.Now(), notify: make(chan struct{}), done: make(chan struct{})}
	go c.read()
	return c
}

func (c *console) read() {
	defer close(c.done)
	r := bufio.NewReaderSize(c.conn, 64<<10)
	for {
		s, err := r.ReadString('\n')
		if s != "" && (err == nil || err == io.EOF) {
			// Firmware and kernel output carry escape sequences and CRs;
			// keep the printable text only.
			text := strings.TrimRight(clean(s), "\r\n ")
			now := time.Now()
			if c.log != nil {
				fmt.Fprintf(c.log, "%9.3f %s\n", now.Sub(c.t0).Seconds(), text)
			}
			if f := c.onLine.Load(); f != nil {
				(*f)(text)
			}
			c.mu.Lock()
			c.lines = append(c.lines, Line{Text: text, At: now})
			close(c.notify)
			c.notify = make(chan struct{})
			c.mu.Unlock()
		}
		if err != nil {
			c.mu.Lock()
			c.err = fmt.Errorf("serial console ended: %w", err)
			close(c.notify)
			c.notify = make(chan struct{})
			c.mu.Unlock()
			return
		}
	}
}

// clean drops ANSI escape sequences and control characters but keeps tabs.
func clean(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == 0x1b:
			// CSI: ESC [ params final; other escapes: ESC + one byte.
			if i+1 < len(s) && s[i+1] == '[' {
				i += 2
				for i < len(s) && (s[i] < 0x40 || s[i] > 0x7e) {
					i++
				}
			} else {
				i++
			}
		case ch == '\t' || ch == '\n' || ch >= 0x20 && ch != 0x7f:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

// mark returns the current end of the line log.
func (c *console) mark() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.lines)
}

// linesSince returns a copy of the lines from mark on.
func (c *console) linesSince(mark int) []Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Line(nil), c.lines[mark:]...)
}

// wait returns the first line at or after *mark for which match is true,
// and moves *mark past it.
func (c *console) wait(mark *int, timeout time.Duration, what string, match func(string) bool) (Line, error) {
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		for i := *mark; i < len(c.lines); i++ {
			if match(c.lines[i].Text) {
				l := c.lines[i]
				*mark = i + 1
				c.mu.Unlock()
				return l, nil
			}
		}
		*mark = len(c.lines)
		ch, err := c.notify, c.err
		c.mu.Unlock()
		if err != nil {
			return Line{}, fmt.Errorf("waiting for %s: %w", what, err)
		}
		select {
		case <-ch:
		case <-deadline:
			return Line{}, fmt.Errorf("no %s on the serial console in %s", what, timeout)
		}
	}
}

// jobSeq numbers jobs across guests, so an answer from an old boot can
// never be taken for a new job's.
var jobSeq atomic.Int64

// send writes one framed job for serial-loop and returns its id.
func (c *console) send(script string, timeout time.Duration) (string, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	id := fmt.Sprintf("j%d", jobSeq.Add(1))
	var b strings.Builder
	fmt.Fprintf(&b, "@@JOB %s %d\n", id, int(timeout.Seconds()+0.999))
	enc := base64.StdEncoding.EncodeToString([]byte(script))
	for len(enc) > 76 {
		b.WriteString(enc[:76])
		b.WriteByte('\n')
		enc = enc[76:]
	}
	if enc != "" {
		b.WriteString(enc + "\n")
	}
	fmt.Fprintf(&b, "@@RUN %s\n", id)
	c.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
	// The guest's tty reads slowly under TCG; small writes keep its input
	// buffer (4 KB in canonical mode) from overflowing.
	data := []byte(b.String())
	for len(data) > 0 {
		n := min(len(data), 1024)
		if _, err := c.conn.Write(data[:n]); err != nil {
			return "", fmt.Errorf("cannot write to the serial console: %w", err)
		}
		data = data[n:]
		if len(data) > 0 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	return id, nil
}

// result waits for job id's output and exit code, reading from *mark on.
func (c *console) result(mark *int, id string, timeout time.Duration) (string, int, error) {
	var out strings.Builder
	prefixO, prefixRC := "@@O "+id+" ", "@@RC "+id+" "
	for {
		l, err := c.wait(mark, timeout, "the result of job "+id, func(s string) bool {
			return strings.HasPrefix(s, prefixO) || strings.HasPrefix(s, prefixRC)
		})
		if err != nil {
			return out.String(), -1, err
		}
		if rest, ok := strings.CutPrefix(l.Text, prefixRC); ok {
			rc, err := strconv.Atoi(strings.TrimSpace(rest))
			if err != nil {
				return out.String(), -1, fmt.Errorf("job %s: bad exit code line %q", id, l.Text)
			}
			return out.String(), rc, nil
		}
		chunk, err := base64.StdEncoding.DecodeString(strings.TrimSpace(strings.TrimPrefix(l.Text, prefixO)))
		if err != nil {
			// A kernel message landed inside the line.
			return out.String(), -1, fmt.Errorf("job %s: garbled output line %q", id, l.Text)
		}
		out.Write(chunk)
	}
}
