package strictparse

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSuggest(t *testing.T) {
	known := []string{"schedule", "retention", "rpo", "targets"}
	assert.Equal(t, ` (did you mean "retention"?)`, Suggest("retension", known))
	assert.Equal(t, ` (did you mean "schedule"?)`, Suggest("Schedul", known), "case does not count")
	assert.Equal(t, "", Suggest("completely-different", known), "more than two edits: no guess")
	assert.Equal(t, ` (did you mean "rpo"?)`, Suggest("rp", known))
	assert.Equal(t, ` (did you mean "ab"?)`, Suggest("a", []string{"ac", "ab"}), "ties go to the first alphabetically")
}

func TestKind(t *testing.T) {
	for raw, want := range map[string]string{`"x"`: "a string", `1.5`: "a number", `true`: "true or false",
		`[1]`: "a list", `{"a":1}`: "a mapping", `null`: "null", `{`: "invalid JSON"} {
		assert.Equal(t, want, Kind([]byte(raw)), raw)
	}
}
