package notify

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// The marker's file names inside <root>/run.
var watchedNames = map[string]bool{"reboot-required": true, "reboot-required.pkgs": true}

// watchMask: shell redirections (">", ">>") end in IN_CLOSE_WRITE, a
// first write also makes IN_CREATE; rm and mv give the rest.
const watchMask = unix.IN_CREATE | unix.IN_CLOSE_WRITE | unix.IN_MOVED_TO |
	unix.IN_MOVED_FROM | unix.IN_DELETE | unix.IN_ATTRIB

// event is one inotify record.
type event struct {
	Mask uint32
	Name string
}

// parseEvents splits a read from an inotify descriptor into records. The
// kernel writes whole records, but the parser must not trust that: a
// short or lying record ends parsing with an error, never a panic.
func parseEvents(b []byte) ([]event, error) {
	var out []event
	for len(b) > 0 {
		if len(b) < unix.SizeofInotifyEvent {
			return out, errors.New("cannot parse inotify event: short header")
		}
		mask := binary.NativeEndian.Uint32(b[4:8])
		n := binary.NativeEndian.Uint32(b[12:16])
		b = b[unix.SizeofInotifyEvent:]
		if uint64(n) > uint64(len(b)) {
			return out, errors.New("cannot parse inotify event: name runs past the buffer")
		}
		name := b[:n]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		out = append(out, event{Mask: mask, Name: string(name)})
		b = b[n:]
	}
	return out, nil
}

// relevant says whether the events can change what the marker says:
// one of its two files changed, or the kernel dropped events (overflow)
// or the watch itself went away, after which only a fresh look helps.
func relevant(evs []event) bool {
	for _, e := range evs {
		if e.Mask&(unix.IN_Q_OVERFLOW|unix.IN_IGNORED|unix.IN_UNMOUNT) != 0 {
			return true
		}
		if watchedNames[e.Name] {
			return true
		}
	}
	return false
}

// dirWatch reports changes of the marker files in dir on C. It never
// blocks the sender: C holds one pending "look again".
type dirWatch struct {
	C    chan struct{}
	f    *os.File
	done chan struct{}
}

// watchDir starts an inotify watch on dir. The descriptor is
// non-blocking, so the runtime's poller serves Read and Close ends it.
func watchDir(dir string) (*dirWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("cannot watch %s: %w", dir, err)
	}
	if _, err := unix.InotifyAddWatch(fd, dir, watchMask|unix.IN_ONLYDIR); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("cannot watch %s: %w", dir, err)
	}
	w := &dirWatch{C: make(chan struct{}, 1), f: os.NewFile(uintptr(fd), "inotify:"+dir), done: make(chan struct{})}
	go w.loop()
	return w, nil
}

func (w *dirWatch) loop() {
	defer close(w.done)
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := w.f.Read(buf)
		if err != nil {
			// Closed by stop, or the descriptor broke: either way the
			// watcher falls back to its poll tick.
			w.kick()
			return
		}
		evs, perr := parseEvents(buf[:n])
		if perr != nil || relevant(evs) {
			w.kick()
		}
	}
}

func (w *dirWatch) kick() {
	select {
	case w.C <- struct{}{}:
	default:
	}
}

func (w *dirWatch) stop() {
	w.f.Close()
	select {
	case <-w.done:
	case <-time.After(time.Second):
	}
}
