package otcrds

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// DocPath is docs/providers/otcrds.md, the page that lists every code, state
// and assumption of the driver and this simulator, with sources.
func DocPath() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "docs", "providers", "otcrds.md")
}

// DocTable returns the rows of table number n (from 0) under the "## "
// heading of the markdown page at path: the cells of each row whose first
// cell is a `code` span, with the backticks of that first cell removed. Tests
// read the page's tables with it, so the page and the code cannot drift apart.
func DocTable(path, heading string, n int) ([][]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var rows [][]string
	inSection, table, inTable := false, -1, false
	for _, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "## ") {
			inSection, table, inTable = strings.TrimPrefix(line, "## ") == heading, -1, false
			continue
		}
		if !inSection {
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
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		first := cells[0]
		if len(first) > 2 && strings.HasPrefix(first, "`") && strings.HasSuffix(first, "`") {
			cells[0] = strings.Trim(first, "`")
			rows = append(rows, cells)
		}
	}
	return rows, nil
}
