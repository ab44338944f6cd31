package helper

import (
	"fmt"
	"io"
	"log/syslog"
	"strings"
	"sync"
	"time"

	"github.com/rapidreboot/rapidreboot/backend/system/lograte"
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
	calls  *lograte.Limiter // Call's lines, per caller
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
	l := &Logger{stderr: stderr, calls: lograte.New()}
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
func DiscardLogger() *Logger { return &Logger{stderr: io.Discard, calls: lograte.New()} }

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
// and the outcome. Decisions are the audit lines: never rate-limited.
func (l *Logger) Decision(method, sender string, uid int64, action, result string) {
	l.write(decisionPrio(result), decisionLine(method, sender, uid, action, result))
}

// Call logs a call that changes nothing (GetPlan), in Decision's form at
// info level, rate-limited per caller uid (issue 12, item 7): any local
// user can make such calls, and a flood of their lines must not push the
// audit lines out of the journal. The uid is the key, not the unique name,
// which a caller changes by reconnecting; callers whose uid is unknown
// share one key. Suppressed lines are counted and the count is logged once
// the caller's window is over (or at exit, FlushSuppressed).
func (l *Logger) Call(method, sender string, uid int64, result string) {
	key := "uid=unknown"
	if uid >= 0 {
		key = fmt.Sprintf("uid=%d", uid)
	}
	ok, reports := l.limiter().Allow(key)
	l.report(reports)
	if ok {
		l.write(prioInfo, decisionLine(method, sender, uid, "", result))
	}
}

// FlushSuppressed logs the suppressed counts not yet logged.
func (l *Logger) FlushSuppressed() { l.report(l.limiter().Flush()) }

// SetCallRate sets Call's limit: burst lines per window per caller; now is
// the clock (nil: time.Now).
func (l *Logger) SetCallRate(burst int, window time.Duration, now func() time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = &lograte.Limiter{Burst: burst, Window: window, MaxKeys: lograte.DefaultMaxKeys, Now: now}
}

func (l *Logger) limiter() *lograte.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.calls == nil {
		l.calls = lograte.New()
	}
	return l.calls
}

func (l *Logger) report(rs []lograte.Report) {
	for _, r := range rs {
		l.write(prioNotice, fmt.Sprintf("suppressed %d log lines of %s in %s (calls that change nothing: at most %d logged per caller in that time)",
			r.Suppressed, r.Key, r.Window, l.limiter().Burst))
	}
}

func decisionPrio(result string) int {
	if strings.HasPrefix(result, "refused") || strings.HasPrefix(result, "failed") {
		return prioWarning
	}
	return prioNotice
}

func decisionLine(method, sender string, uid int64, action, result string) string {
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
	return b.String()
}
