package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestPairedRatiosCompareRoundsBackToBack(t *testing.T) {
	r := throughputResult{Runs: []throughputRound{
		{Kind: kindBare, Round: 1, N: 100, Elapsed: 10 * time.Second},       // 10/s
		{Kind: kindBackupflow, Round: 1, N: 100, Elapsed: 20 * time.Second}, // 5/s
		{Kind: kindBare, Round: 2, N: 100, Elapsed: 4 * time.Second},        // 25/s: the machine got quieter
		{Kind: kindBackupflow, Round: 2, N: 100, Elapsed: 5 * time.Second},  // 20/s
		{Kind: kindBare, Round: 3, N: 100, Elapsed: 5 * time.Second},        // 20/s
		{Kind: kindBackupflow, Round: 3, N: 90, Failed: 0, Elapsed: 5 * time.Second, ServerCPU: 900 * time.Millisecond, BenchCPU: 900 * time.Millisecond},
	}}
	assert.Equal(t, []float64{0.5, 0.8, 0.9}, r.pairedRatios(kindBackupflow))
	assert.Equal(t, 0.8, r.medianRatio(kindBackupflow))
	assert.Equal(t, 20*time.Millisecond, r.Runs[5].cpuPerWorkflow())
}
