package simkit

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRegistry(t *testing.T) {
	var started []Options
	Register(Registration{Provider: "zz-test-b", Start: func(o Options) (*Cloud, error) {
		started = append(started, o)
		return &Cloud{Provider: "zz-test-b"}, nil
	}})
	Register(Registration{Provider: "zz-test-a", Start: func(Options) (*Cloud, error) { return nil, errors.New("no room") }})

	names := Registered()
	assert.IsIncreasing(t, names, "sorted")
	assert.Contains(t, names, "zz-test-a")
	assert.Contains(t, names, "zz-test-b")

	c, err := Start("zz-test-b", Options{Resources: 3})
	require.NoError(t, err)
	assert.Equal(t, "zz-test-b", c.Provider)
	assert.Equal(t, []Options{{Resources: 3}}, started, "Start passes the options on")

	_, err = Start("zz-test-a", Options{})
	assert.ErrorContains(t, err, "start zz-test-a simulator: no room")
	_, err = Start("zz-nothing", Options{})
	assert.ErrorContains(t, err, `no simulator for provider "zz-nothing"`)

	assert.Panics(t, func() {
		Register(Registration{Provider: "zz-test-a", Start: func(Options) (*Cloud, error) { return nil, nil }})
	}, "twice")
	assert.Panics(t, func() { Register(Registration{Provider: "zz-test-c"}) }, "no Start")
	assert.Panics(t, func() { Register(Registration{Start: func(Options) (*Cloud, error) { return nil, nil }}) }, "no name")
}

// TestEverySimulatorHasTheLayout checks the layout the package doc
// describes: every simulator package beside simkit (but the family package
// huaweicloudsim) has the files of every role, and no file of another role.
func TestEverySimulatorHasTheLayout(t *testing.T) {
	roles := []string{"simulator.go", "server.go", "model.go", "errors.go", "fixture.go", "register.go", "server_test.go", "doc_test.go"}
	optional := map[string]bool{"server_internal_test.go": true}
	dirs, err := os.ReadDir("..")
	require.NoError(t, err)
	seen := 0
	for _, d := range dirs {
		if !d.IsDir() || !strings.HasSuffix(d.Name(), "sim") || d.Name() == "huaweicloudsim" {
			continue
		}
		seen++
		files, err := filepath.Glob(filepath.Join("..", d.Name(), "*.go"))
		require.NoError(t, err)
		var names []string
		for _, f := range files {
			names = append(names, filepath.Base(f))
		}
		for _, r := range roles {
			assert.Contains(t, names, r, "%s lacks %s", d.Name(), r)
		}
		for _, n := range names {
			assert.True(t, optional[n] || slices.Contains(roles, n), "%s: %s is no file of the layout", d.Name(), n)
		}
	}
	assert.NotZero(t, seen, "the discovery sees the simulator packages")
}
