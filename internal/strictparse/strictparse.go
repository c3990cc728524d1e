// Package strictparse holds what the strict file parsers (plan files,
// sinks files) share for their errors: the known field a mistyped one most
// likely meant, and the kind of a value that has the wrong type.
package strictparse

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Suggest returns ` (did you mean "name"?)` for the known name closest to
// key (at most two edits apart, ties broken alphabetically), or "".
func Suggest(key string, known []string) string {
	best, bestDistance := "", 3
	for _, name := range known {
		d := editDistance(strings.ToLower(key), strings.ToLower(name))
		if d < bestDistance || d == bestDistance && name < best {
			best, bestDistance = name, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// Kind names the JSON kind of raw, for "must be a list, got a string".
func Kind(raw json.RawMessage) string {
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return "invalid JSON"
	}
	switch v.(type) {
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "true or false"
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	}
	return "null"
}
