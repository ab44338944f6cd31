package helper

import (
	"fmt"
	"io"
	"log/syslog"
	"strings"
	"sync"
)

// Logger writes the helper's log to syslog (the journal's /dev/log) and
// falls back to stderr with systemd's "<N>" priority prefixes. A failure
// to log never changes a decision (attack list row 49); it is said once on
// stderr, and the lines then go there.
type Logger struct {
	mu     sync.Mutex
	sys    *syslog.Writer // nil: stderr only
	stderr io.Writer
	noted  bool
}

// Syslog priorities used here (syslog(3)).
const (
	prioErr     = 3
	prioWarning = 4
	prioNotice  = 5
	prioInfo    = 6
)

// NewLogger logs to the first syslog socket of sockets that accepts a
// connection (none: stderr only), falling back to stderr.
func NewLogger(stderr io.Writer, sockets ...string) *Logger {
	l := &Logger{stderr: stderr}
	var errs []string
	for _, s := range sockets {
		if s == "" {
			continue
		}
		w, err := syslog.Dial("unixgram", s, syslog.LOG_DAEMON|syslog.LOG_INFO, "rapidreboot-helper")
		if err == nil {
			l.sys = w
			return l
		}
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		l.note(fmt.Errorf("cannot log to syslog: %s", strings.Join(errs, "; ")))
	}
	return l
}

// DiscardLogger logs nowhere (tests that do not look at the log).
func DiscardLogger() *Logger { return &Logger{stderr: io.Discard} }

func (l *Logger) note(err error) {
	if l.noted {
		return
	}
	l.noted = true
	fmt.Fprintf(l.stderr, "<%d>%v; logging to stderr\n", prioWarning, err)
}

func (l *Logger) write(prio int, msg string) {
	msg = strings.ReplaceAll(msg, "\n", " ")
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sys != nil {
		var err error
		switch prio {
		case prioErr:
			err = l.sys.Err(msg)
		case prioWarning:
			err = l.sys.Warning(msg)
		case prioNotice:
			err = l.sys.Notice(msg)
		default:
			err = l.sys.Info(msg)
		}
		if err == nil {
			return
		}
		l.note(fmt.Errorf("cannot log to syslog: %w", err))
		l.sys.Close()
		l.sys = nil
	}
	fmt.Fprintf(l.stderr, "<%d>%s\n", prio, msg)
}

// Err, Warning, Notice and Info log at their priority.
func (l *Logger) Err(format string, args ...any) { l.write(prioErr, fmt.Sprintf(format, args...)) }
func (l *Logger) Warning(format string, args ...any) {
	l.write(prioWarning, fmt.Sprintf(format, args...))
}
func (l *Logger) Notice(format string, args ...any) {
	l.write(prioNotice, fmt.Sprintf(format, args...))
}
func (l *Logger) Info(format string, args ...any) { l.write(prioInfo, fmt.Sprintf(format, args...)) }

// Decision logs one decision about a caller: the method, the caller's
// unique name and uid (-1: unknown), the polkit action when one was asked,
// and the outcome.
func (l *Logger) Decision(method, sender string, uid int64, action, result string) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: sender=%s uid=", method, sender)
	if uid < 0 {
		b.WriteString("unknown")
	} else {
		fmt.Fprintf(&b, "%d", uid)
	}
	if action != "" {
		fmt.Fprintf(&b, " action=%s", action)
	}
	fmt.Fprintf(&b, " result=%s", result)
	prio := prioNotice
	if strings.HasPrefix(result, "refused") || strings.HasPrefix(result, "failed") {
		prio = prioWarning
	}
	l.write(prio, b.String())
}
