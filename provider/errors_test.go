package provider

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/backupflow/backupflow/backup"
)

func TestErrorNamesTheProviderOnce(t *testing.T) {
	cases := []struct {
		err  *Error
		want string
	}{
		{&Error{Provider: "alirds", Field: "alirds.DBInstanceId", Message: "is required"}, "alirds.DBInstanceId: is required"},
		{&Error{Provider: "alirds", Field: "provider", Message: "bad"}, "alirds: provider: bad"},
		{&Error{Provider: "taurusdb", Code: "DBS.200011", RequestID: "r-1", Message: "instance busy"}, "taurusdb: instance busy (code DBS.200011, request r-1)"},
		{&Error{Field: "memory.name", Message: "too long"}, "memory.name: too long"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, c.err.Error())
	}
}

// The provider classes are backup's (one definition), and which of them are
// retried is what it always was: the transient ones.
func TestProviderClassesAreBackupClasses(t *testing.T) {
	retryable := map[Class]bool{
		InvalidArgument: false, NotFound: false, AlreadyExists: false, Busy: true, FailedPrecondition: false,
		Quota: false, Permission: false, Throttled: true, Unavailable: true, Internal: true, Unsupported: false,
		BackupFailed: false,
	}
	for c, want := range retryable {
		assert.True(t, c.Known(), "%s", c)
		assert.Contains(t, backup.Classes(), c)
		assert.Equal(t, want, c.Retryable(), "%s", c)
	}
	assert.Equal(t, backup.Busy, ClassOf(fmt.Errorf("start: %w", Errorf(Busy, "instance %s is rebooting", "i-1"))))
	assert.True(t, IsClass(Invalid("memory.name", "too long"), backup.InvalidArgument))
	assert.Equal(t, Class(""), ClassOf(errors.New("plain")))
}
