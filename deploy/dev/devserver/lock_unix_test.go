//go:build unix

package devserver

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The data-directory lock exists on unix only (lock_other.go is a no-op).
func TestDataDirInUse(t *testing.T) {
	dir := t.TempDir()
	release, err := lockDataDir(dir) // as a running server holds it
	require.NoError(t, err)
	_, err = Start(Options{DataDir: dir})
	var inUse *DataDirInUseError
	require.True(t, errors.As(err, &inUse), "%v", err)
	assert.Equal(t, dir, inUse.Dir)
	release()
	again, err := lockDataDir(dir)
	require.NoError(t, err, "free again once released")
	again()
}
