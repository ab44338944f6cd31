package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Event is one QMP event with the host time it arrived. A firmware reboot
// shows as RESET; a kexec shows nothing at all, which is the proof the
// scenarios rest on.
type Event struct {
	Name string
	At   time.Time
	Data json.RawMessage
}

// qmp is a minimal QEMU Machine Protocol client: capabilities negotiation,
// synchronous commands, and a log of every event.
type qmp struct {
	conn net.Conn
	mu   sync.Mutex // one command at a time

	evMu    sync.Mutex
	events  []Event
	notify  chan struct{} // closed and replaced on every event
	replies chan qmpReply
	err     error // set when the connection ends
	done    chan struct{}

	onEvent atomic.Pointer[func(string)] // called by the reader for every event
}

type qmpReply struct {
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
}

func dialQMP(path string, timeout time.Duration) (*qmp, error) {
	conn, err := net.DialTimeout("unix", path, timeout)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to QMP: %w", err)
	}
	q := &qmp{conn: conn, notify: make(chan struct{}), replies: make(chan qmpReply, 1), done: make(chan struct{})}
	r := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(timeout))
	if _, err := r.ReadBytes('\n'); err != nil { // greeting
		conn.Close()
		return nil, fmt.Errorf("cannot read the QMP greeting: %w", err)
	}
	conn.SetReadDeadline(time.Time{})
	go q.read(r)
	if _, err := q.command("qmp_capabilities", nil, timeout); err != nil {
		conn.Close()
		return nil, err
	}
	return q, nil
}

func (q *qmp) read(r *bufio.Reader) {
	defer close(q.done)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			q.evMu.Lock()
			q.err = fmt.Errorf("QMP connection ended: %w", err)
			close(q.notify)
			q.notify = make(chan struct{})
			q.evMu.Unlock()
			close(q.replies)
			return
		}
		var msg struct {
			Event string          `json:"event"`
			Data  json.RawMessage `json:"data"`
			qmpReply
		}
		if json.Unmarshal(line, &msg) != nil {
			continue
		}
		if msg.Event != "" {
			if f := q.onEvent.Load(); f != nil {
				(*f)(msg.Event)
			}
			q.evMu.Lock()
			q.events = append(q.events, Event{Name: msg.Event, At: time.Now(), Data: msg.Data})
			close(q.notify)
			q.notify = make(chan struct{})
			q.evMu.Unlock()
			continue
		}
		q.replies <- msg.qmpReply
	}
}

// command runs one QMP command and returns its "return" member.
func (q *qmp) command(name string, args any, timeout time.Duration) (json.RawMessage, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	req := map[string]any{"execute": name}
	if args != nil {
		req["arguments"] = args
	}
	b, _ := json.Marshal(req)
	q.conn.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := q.conn.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("cannot send QMP %s: %w", name, err)
	}
	select {
	case rep, ok := <-q.replies:
		if !ok {
			return nil, fmt.Errorf("cannot run QMP %s: connection closed", name)
		}
		if rep.Error != nil {
			return nil, fmt.Errorf("QMP %s: %s: %s", name, rep.Error.Class, rep.Error.Desc)
		}
		return rep.Return, nil
	case <-time.After(timeout):
		return nil, fmt.Errorf("QMP %s: no reply in %s", name, timeout)
	}
}

// mark returns the current end of the event log, for since().
func (q *qmp) mark() int {
	q.evMu.Lock()
	defer q.evMu.Unlock()
	return len(q.events)
}

// since returns the events named name (all if "") from mark on.
func (q *qmp) since(mark int, name string) []Event {
	q.evMu.Lock()
	defer q.evMu.Unlock()
	var out []Event
	for _, e := range q.events[mark:] {
		if name == "" || e.Name == name {
			out = append(out, e)
		}
	}
	return out
}

// waitEvent waits until an event named name arrives at or after mark.
func (q *qmp) waitEvent(mark int, name string, timeout time.Duration) (Event, error) {
	deadline := time.After(timeout)
	for {
		q.evMu.Lock()
		for _, e := range q.events[mark:] {
			if e.Name == name {
				q.evMu.Unlock()
				return e, nil
			}
		}
		ch, err := q.notify, q.err
		q.evMu.Unlock()
		if err != nil {
			return Event{}, err
		}
		select {
		case <-ch:
		case <-deadline:
			return Event{}, fmt.Errorf("no QMP %s event in %s", name, timeout)
		}
	}
}

func (q *qmp) close() error {
	err := q.conn.Close()
	<-q.done
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
