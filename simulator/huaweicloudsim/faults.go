package huaweicloudsim

import (
	"net/http"

	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/simulator/simkit"
)

// faultAnswer is the family's answer to an injected refusal: a given answer
// (AnswerNext), 429 with Retry-After (Throttled), 409 instance busy (Busy),
// else 503.
func faultAnswer(ft simkit.Fault) *APIError {
	if e, ok := ft.Answer.(*APIError); ok {
		return e
	}
	switch ft.Class {
	case provider.Throttled:
		return &APIError{Status: http.StatusTooManyRequests, Code: CodeThrottled,
			Message: "The throttling threshold has been reached", RetryAfter: ft.RetryAfter}
	case provider.Busy:
		return Errf(http.StatusConflict, CodeInstanceBusy, "The instance is busy; try again later")
	}
	return Errf(http.StatusServiceUnavailable, CodeUnavailable, "Service temporarily unavailable; try again later")
}
