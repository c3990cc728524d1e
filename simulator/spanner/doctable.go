package spanner

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// DocTable reads the first markdown table under the heading (a line such as
// "## Error codes") of docs/providers/spanner.md: one map per row, keyed by
// the header cells, with surrounding backticks and spaces removed. Tests of
// the simulator and of the driver hold both to that document through it.
func DocTable(markdown []byte, heading string) ([]map[string]string, error) {
	sc := bufio.NewScanner(bytes.NewReader(markdown))
	found := false
	var header []string
	var rows []map[string]string
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if !found {
			found = line == heading
			continue
		}
		if !strings.HasPrefix(line, "|") {
			if header != nil {
				break // the table has ended
			}
			if strings.HasPrefix(line, "#") {
				return nil, fmt.Errorf("no table under %q", heading)
			}
			continue
		}
		cells := splitRow(line)
		switch {
		case header == nil:
			header = cells
		case strings.Trim(strings.Join(cells, ""), "-: ") == "":
			// the |---|---| separator
		default:
			if len(cells) != len(header) {
				return nil, fmt.Errorf("table %q: row %q has %d cells, the header %d", heading, line, len(cells), len(header))
			}
			row := map[string]string{}
			for i, h := range header {
				row[h] = cells[i]
			}
			rows = append(rows, row)
		}
	}
	if !found {
		return nil, fmt.Errorf("no heading %q", heading)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("no table rows under %q", heading)
	}
	return rows, nil
}

func splitRow(line string) []string {
	cells := strings.Split(strings.Trim(line, "|"), "|")
	for i, c := range cells {
		cells[i] = strings.Trim(strings.TrimSpace(c), "`")
	}
	return cells
}
