package huaweicloudsim

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/simkit"
)

func TestFaultAnswers(t *testing.T) {
	e := faultAnswer(simkit.Fault{Class: provider.Throttled, RetryAfter: 7 * time.Second})
	assert.Equal(t, http.StatusTooManyRequests, e.Status)
	assert.Equal(t, CodeThrottled, e.Code)
	assert.Equal(t, 7*time.Second, e.RetryAfter)
	assert.Equal(t, http.StatusServiceUnavailable, faultAnswer(simkit.Fault{Class: provider.Unavailable}).Status)
	assert.Equal(t, CodeInstanceBusy, faultAnswer(simkit.Fault{Class: provider.Busy}).Code)
}

func TestAnswerNextGivesTheAnswerOnce(t *testing.T) {
	s := NewSimulator()
	s.AnswerNext(http.StatusConflict, "DBS.201014", "busy")
	ft, ok := s.Next("", false)
	assert.True(t, ok)
	assert.Equal(t, &APIError{Status: http.StatusConflict, Code: "DBS.201014", Message: "busy"}, faultAnswer(ft))
	_, ok = s.Next("", false)
	assert.False(t, ok, "one call only")
	assert.Equal(t, 1, s.Faults())
}
