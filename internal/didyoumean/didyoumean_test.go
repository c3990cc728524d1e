package didyoumean

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
