package alirds

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// ReadDocTable reads the first markdown table under the "## heading" of a
// file (docs/providers/alirds.md) as rows keyed by column title, cells
// trimmed of blanks and backticks. Tests use it to hold the simulator and
// the driver to what the provider document says.
func ReadDocTable(path, heading string) ([]map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var header []string
	var rows []map[string]string
	inSection := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "## ") {
			if inSection && header != nil {
				break
			}
			inSection = strings.TrimSpace(strings.TrimPrefix(line, "## ")) == heading
			continue
		}
		if !inSection || !strings.HasPrefix(line, "|") {
			if inSection && header != nil && line == "" {
				break // the table has ended
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i, c := range cells {
			cells[i] = strings.Trim(strings.TrimSpace(c), "`")
		}
		switch {
		case header == nil:
			header = cells
		case strings.Trim(strings.Join(cells, ""), "-: ") == "":
			// the separator line
		default:
			row := map[string]string{}
			for i, title := range header {
				if i < len(cells) {
					row[title] = cells[i]
				}
			}
			rows = append(rows, row)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no table under \"## %s\"", path, heading)
	}
	return rows, nil
}
