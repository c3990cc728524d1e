package provider

import (
	"testing"

	"github.com/stretchr/testify/assert"
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
