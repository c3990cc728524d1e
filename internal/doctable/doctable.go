// Package doctable reads the markdown tables of the docs/providers pages,
// which tests of the drivers and the simulators hold the code to. Only tests
// import it.
package doctable

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Page is the path of docs/providers/<provider>.md, found from this file's
// place in the repository.
func Page(provider string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "docs", "providers", provider+".md")
}

// Read returns table number n (from 0) of the section under the markdown
// heading whose text is heading (such as "Error codes" for "## Error codes";
// the section ends at the next heading of the same or a higher level): one
// map per row, keyed by the header cells, every cell without surrounding
// spaces and backticks. A table is a run of lines starting with "|": a
// header row, a separator row, then at least one row of as many cells as
// the header.
func Read(path, heading string, n int) ([]map[string]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rows, err := parse(string(raw), heading, n)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rows, nil
}

func parse(markdown, heading string, n int) ([]map[string]string, error) {
	level := 0  // of the heading, once found
	table := -1 // the table being read, counted from 0
	inTable := false
	var header []string
	separated := false
	var rows []map[string]string
	for i, line := range strings.Split(markdown, "\n") {
		line = strings.TrimSpace(line)
		if l := headingLevel(line); l > 0 {
			if level == 0 {
				if strings.TrimSpace(line[l:]) == heading {
					level = l
				}
				continue
			}
			if l <= level {
				break // the section has ended
			}
		}
		if level == 0 {
			continue
		}
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		if !inTable {
			inTable = true
			table++
		}
		if table != n {
			continue
		}
		cells := split(line)
		switch {
		case header == nil:
			header = cells
		case !separated:
			if !isSeparator(cells) {
				return nil, fmt.Errorf("line %d: table %d under %q: the row after the header is not a |---| separator: %s",
					i+1, n, heading, line)
			}
			separated = true
		default:
			if len(cells) != len(header) {
				return nil, fmt.Errorf("line %d: table %d under %q: a row of %d cells, the header has %d: %s",
					i+1, n, heading, len(cells), len(header), line)
			}
			row := make(map[string]string, len(header))
			for j, h := range header {
				row[h] = cells[j]
			}
			rows = append(rows, row)
		}
	}
	switch {
	case level == 0:
		return nil, fmt.Errorf("no heading %q", heading)
	case table < n:
		return nil, fmt.Errorf("no table %d under %q: %d tables there", n, heading, table+1)
	case len(rows) == 0:
		return nil, fmt.Errorf("table %d under %q has no rows", n, heading)
	}
	return rows, nil
}

// headingLevel is the number of leading '#' of a markdown heading line, 0 if
// the line is not a heading.
func headingLevel(line string) int {
	l := len(line) - len(strings.TrimLeft(line, "#"))
	if l == 0 || l > 6 || (len(line) > l && line[l] != ' ') {
		return 0
	}
	return l
}

func split(line string) []string {
	cells := strings.Split(strings.TrimSuffix(strings.TrimPrefix(line, "|"), "|"), "|")
	for i, c := range cells {
		cells[i] = strings.Trim(strings.TrimSpace(c), "`")
	}
	return cells
}

func isSeparator(cells []string) bool {
	for _, c := range cells {
		if c == "" || strings.Trim(c, "-: ") != "" {
			return false
		}
	}
	return true
}
