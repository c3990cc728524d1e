package otcrds_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/internal/doctable"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/otcrds"
	"github.com/backupflow/backupflow/simulator/huaweicloudsim"
	"github.com/backupflow/backupflow/simulator/otcrdssim"
)

// Every error code docs/providers/otcrds.md lists is classified by the driver
// as the page says. Each code is answered, with its documented HTTP status and
// OTC's error shape, by a loopback endpoint the driver calls through the SDK.
func TestDocumentedCodesMapToDocumentedClasses(t *testing.T) {
	var rows []map[string]string
	for table := range 2 {
		r, err := doctable.Read(doctable.Page("otcrds"), "Error codes", table)
		require.NoError(t, err)
		require.NotEmpty(t, r, "error-code table %d", table)
		rows = append(rows, r...)
	}
	for _, row := range rows {
		code, class := row["Code"], provider.Class(row["Class"])
		status, err := strconv.Atoi(row["HTTP"])
		require.NoError(t, err, row)
		t.Run(code, func(t *testing.T) {
			require.True(t, class.Known(), "the doc names a class backupflow has: %q", row["Class"])
			endpoint := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				huaweicloudsim.WriteError(w, huaweicloudsim.Errf(status, code, "answer of the doc test"))
			}))
			t.Cleanup(endpoint.Close)
			d := newDriver(t, otcrds.Config{Endpoint: endpoint.URL, Insecure: true, ProjectID: otcrdssim.ProjectID, Auth: otcrds.AuthAKSK,
				AccessKey: otcrdssim.AccessKey, SecretKey: provider.Secret(otcrdssim.SecretKey)})
			e := pe(t, d.Preflight(ctx(t), job(section(nil))))
			assert.Equal(t, class, e.Class)
			assert.Equal(t, code, e.Code)
			assert.Equal(t, status, e.HTTPStatus)
		})
	}
}
