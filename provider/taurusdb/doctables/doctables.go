// Package doctables is the typed view of the tables of
// docs/providers/taurusdb.md that the driver's and the simulator's tests
// check against, so that the page cannot list a code or a state the code does
// not handle. The markdown itself is read by internal/doctable.
package doctables

import (
	"fmt"
	"strconv"

	"github.com/backupflow/backupflow/internal/doctable"
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

// Read reads the page at path (doctable.Page("taurusdb")): the two tables
// under "## Error codes" and the table under "## States".
func Read(path string) (Doc, error) {
	var doc Doc
	for n, answered := range []bool{true, false} {
		rows, err := doctable.Read(path, "Error codes", n)
		if err != nil {
			return Doc{}, err
		}
		for _, row := range rows {
			status, err := strconv.Atoi(row["HTTP status"])
			if err != nil {
				return Doc{}, fmt.Errorf("%s: %s: HTTP status %q: %w", path, row["code"], row["HTTP status"], err)
			}
			class := provider.Class(row["class"])
			if !class.Known() {
				return Doc{}, fmt.Errorf("%s: %s: unknown class %q", path, row["code"], row["class"])
			}
			doc.Codes = append(doc.Codes, Code{Code: row["code"], HTTPStatus: status, Class: class, Answered: answered})
		}
	}
	if _, err := doctable.Read(path, "Error codes", 2); err == nil {
		return Doc{}, fmt.Errorf("%s: want two tables under \"## Error codes\", found more", path)
	}
	rows, err := doctable.Read(path, "States", 0)
	if err != nil {
		return Doc{}, err
	}
	for _, row := range rows {
		if row["API"] != "backup" && row["API"] != "job" {
			return Doc{}, fmt.Errorf("%s: a state row starts with backup or job, not %q", path, row["API"])
		}
		doc.States = append(doc.States, State{API: row["API"], State: row["state"]})
	}
	if _, err := doctable.Read(path, "States", 1); err == nil {
		return Doc{}, fmt.Errorf("%s: want one table under \"## States\", found more", path)
	}
	return doc, nil
}
