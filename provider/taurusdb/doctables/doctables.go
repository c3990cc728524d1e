// Package doctables reads the tables of docs/providers/taurusdb.md that the
// driver's and the simulator's tests check against, so that the page cannot
// list a code or a state the code does not handle.
package doctables

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/backupflow/backupflow/provider"
)

// Code is a row of an error-code table.
type Code struct {
	Code       string
	HTTPStatus int
	Class      provider.Class
	// Answered is true for the first table (codes TaurusDB answers, which the
	// simulator must produce), false for the second (family codes TaurusDB is
	// not expected to answer).
	Answered bool
}

// State is a row of the state table: API is "backup" or "job".
type State struct {
	API, State string
}

// Doc is what the page's tables say.
type Doc struct {
	Codes  []Code
	States []State
}

// Path is where the page is, found from this file's place in the repository.
func Path() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..", "docs", "providers", "taurusdb.md")
}

// Read parses the page at path: the two tables under "## Error codes" and
// the table under "## States".
func Read(path string) (Doc, error) {
	f, err := os.Open(path)
	if err != nil {
		return Doc{}, err
	}
	defer f.Close()
	var (
		doc       Doc
		section   string
		tables    = map[string]int{} // tables seen per section
		inTable   bool
		headerRow bool
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "## ") {
			section, inTable = strings.TrimPrefix(line, "## "), false
			continue
		}
		if !strings.HasPrefix(line, "|") {
			inTable = false
			continue
		}
		if !inTable { // a header row starts a table
			inTable, headerRow = true, true
			tables[section]++
			continue
		}
		if headerRow { // the separator row
			headerRow = false
			continue
		}
		cells := cells(line)
		switch section {
		case "Error codes":
			if len(cells) < 3 {
				return Doc{}, fmt.Errorf("%s:%d: an error-code row needs code, HTTP status and class", path, n)
			}
			status, err := strconv.Atoi(cells[1])
			if err != nil {
				return Doc{}, fmt.Errorf("%s:%d: HTTP status %q: %w", path, n, cells[1], err)
			}
			class := provider.Class(cells[2])
			if !class.Known() {
				return Doc{}, fmt.Errorf("%s:%d: unknown class %q", path, n, cells[2])
			}
			doc.Codes = append(doc.Codes, Code{Code: cells[0], HTTPStatus: status, Class: class, Answered: tables[section] == 1})
		case "States":
			if len(cells) < 2 || (cells[0] != "backup" && cells[0] != "job") {
				return Doc{}, fmt.Errorf("%s:%d: a state row starts with backup or job and the state", path, n)
			}
			doc.States = append(doc.States, State{API: cells[0], State: cells[1]})
		}
	}
	if err := sc.Err(); err != nil {
		return Doc{}, err
	}
	if tables["Error codes"] != 2 || tables["States"] != 1 {
		return Doc{}, fmt.Errorf("%s: want two tables under \"## Error codes\" and one under \"## States\", found %d and %d",
			path, tables["Error codes"], tables["States"])
	}
	return doc, nil
}

// cells splits a table row into its cells, without backticks or padding.
func cells(row string) []string {
	parts := strings.Split(strings.Trim(row, "|"), "|")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), "`")
	}
	return parts
}
