package cli

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/backupflow/backupflow/backup"
)

// ProgressView shows a backup's progress while the CLI waits for it.
type ProgressView interface {
	Update(p backup.Progress)
	// Done ends the display (a TTY bar gets its newline).
	Done()
}

// NewProgressView returns a redrawn bar on a terminal and plain lines
// ("RUNNING 42%") otherwise, so logs and pipes stay readable.
func NewProgressView(w io.Writer, tty bool) ProgressView {
	if tty {
		return &barView{w: w, width: 30}
	}
	return &lineView{w: w}
}

// percent floors, so 100% means done, never 99.6% rounded up.
func percent(p backup.Progress) int {
	return int(math.Floor(math.Max(0, math.Min(100, p.Percent))))
}

// lineView prints one line each time the state or the whole percent changes.
type lineView struct {
	w    io.Writer
	last string
}

func (v *lineView) Update(p backup.Progress) {
	line := fmt.Sprintf("%s %d%%", p.State, percent(p))
	if p.Waiting != "" && p.State != backup.StateRunning {
		line += " waiting: " + escapeControls(p.Waiting)
	}
	if line == v.last {
		return
	}
	v.last = line
	fmt.Fprintln(v.w, line)
}

func (v *lineView) Done() {}

// barView redraws one line in place: [#########.........]  42% RUNNING
type barView struct {
	w     io.Writer
	width int
	drawn bool
	last  string
}

func (v *barView) Update(p backup.Progress) {
	filled := percent(p) * v.width / 100
	bar := strings.Repeat("#", filled) + strings.Repeat(".", v.width-filled)
	line := fmt.Sprintf("[%s] %3d%% %s", bar, percent(p), p.State)
	if p.Attempts > 0 {
		line += fmt.Sprintf("  (attempt %d)", p.Attempts)
	}
	if line == v.last {
		return
	}
	v.last, v.drawn = line, true
	// \r returns to the line start, \x1b[K clears what a longer line left.
	fmt.Fprintf(v.w, "\r%s\x1b[K", line)
}

func (v *barView) Done() {
	if v.drawn {
		fmt.Fprintln(v.w)
		v.drawn = false
	}
}
