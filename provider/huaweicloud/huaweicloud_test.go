package huaweicloud_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/response"
	"github.com/huaweicloud/huaweicloud-sdk-go-v3/core/sdkerr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/huaweicloud"
)

// TestClassify is the error-mapping table: each family code and each HTTP
// status the brief names, and what the workflow does with it.
func TestClassify(t *testing.T) {
	cases := []struct {
		status int
		code   string
		want   provider.Class
	}{
		// Busy codes (409): retry later.
		{409, "DBS.200011", provider.Busy},
		{409, "DBS.200019", provider.Busy},
		{409, "DBS.200047", provider.Busy},
		{409, "DBS.201202", provider.Busy},
		{409, "RDS.0011", provider.Busy},
		{409, "DBS.201205", provider.Busy},
		{409, "RDS.3004", provider.Busy},
		{400, "DBS.201205", provider.Busy}, // the code wins over the status
		{409, "", provider.Busy},
		// Give up.
		{413, "RDS.3003", provider.Quota},
		{413, "", provider.Quota},
		{400, "DBS.280127", provider.InvalidArgument},
		{400, "", provider.InvalidArgument},
		{422, "", provider.InvalidArgument},
		{401, "APIGW.0301", provider.Permission},
		{401, "APIGW.0307", provider.Permission},
		{401, "", provider.Permission},
		{403, "", provider.Permission},
		{404, "DBS.200002", provider.NotFound},
		{400, "DBS.200002", provider.NotFound},
		{404, "", provider.NotFound},
		{400, "DBS.201201", provider.AlreadyExists},
		// Retry with backoff.
		{429, "APIGW.0308", provider.Throttled},
		{429, "", provider.Throttled},
		{500, "", provider.Unavailable},
		{502, "", provider.Unavailable},
		{503, "SYS.0503", provider.Unavailable},
		{504, "", provider.Unavailable},
		{408, "", provider.Unavailable},
		{200, "", provider.Internal}, // an answer the SDK could not decode
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d %s", c.status, c.code), func(t *testing.T) {
			got := huaweicloud.Classify(c.status, c.code)
			assert.Equal(t, c.want, got)
		})
	}
	for _, c := range []provider.Class{provider.Busy, provider.Throttled, provider.Unavailable} {
		assert.True(t, c.Retryable(), c)
	}
	for _, c := range []provider.Class{provider.InvalidArgument, provider.Permission, provider.NotFound, provider.Quota, provider.AlreadyExists} {
		assert.False(t, c.Retryable(), c)
	}
}

// TestClassifyPerService: TaurusDB's own codes apply to TaurusDB only; Open
// Telekom Cloud RDS keeps the family table, where a 409 it does not know is Busy.
func TestClassifyPerService(t *testing.T) {
	cases := []struct {
		provider string
		status   int
		code     string
		want     provider.Class
	}{
		{"taurusdb", 409, "DBS.201014", provider.Busy},
		{"taurusdb", 409, "DBS.201015", provider.Busy},
		{"taurusdb", 409, "DBS.216011", provider.Busy},
		{"taurusdb", 409, "DBS.05000084", provider.Busy},
		{"taurusdb", 409, "DBS.212033", provider.Busy},
		{"taurusdb", 409, "DBS.201209", provider.AlreadyExists},
		{"taurusdb", 409, "DBS.201205", provider.Busy}, // family codes still apply
		{"taurusdb", 400, "DBS.201201", provider.AlreadyExists},
		{"otcrds", 409, "DBS.201209", provider.Busy}, // not an OTC code: by status
		{"otcrds", 400, "DBS.201014", provider.InvalidArgument},
		{"otcrds", 409, "DBS.201205", provider.Busy},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s %d %s", c.provider, c.status, c.code), func(t *testing.T) {
			assert.Equal(t, c.want, huaweicloud.ClassifyFor(c.provider, c.status, c.code))
			pe := huaweicloud.MapError(c.provider, &sdkerr.ServiceResponseError{StatusCode: c.status, ErrorCode: c.code})
			assert.Equal(t, c.want, provider.ClassOf(pe), "MapError classifies for its provider")
		})
	}
}

func httpResponse(status int, body string, header ...string) *response.DefaultHttpResponse {
	h := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	return response.NewDefaultHttpResponse(&http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))})
}

func TestErrorHandlerKeepsEverything(t *testing.T) {
	resp := httpResponse(429, `{"error_code":"APIGW.0308","error_msg":"The throttling threshold has been reached"}`,
		"Retry-After", "7", "X-Request-Id", "req-42")
	err := huaweicloud.ErrorHandler{}.HandleError(nil, resp)
	require.Error(t, err)
	mapped := huaweicloud.MapError("taurusdb", fmt.Errorf("wrapped: %w", err))
	var pe *provider.Error
	require.True(t, errors.As(mapped, &pe))
	assert.Equal(t, provider.Throttled, pe.Class)
	assert.Equal(t, "taurusdb", pe.Provider)
	assert.Equal(t, "APIGW.0308", pe.Code)
	assert.Equal(t, "The throttling threshold has been reached", pe.Message)
	assert.Equal(t, "req-42", pe.RequestID)
	assert.Equal(t, 429, pe.HTTPStatus)
	assert.Equal(t, 7*time.Second, pe.RetryAfter)
	var sre *sdkerr.ServiceResponseError
	assert.True(t, errors.As(mapped, &sre), "the SDK error stays reachable")

	assert.NoError(t, huaweicloud.ErrorHandler{}.HandleError(nil, httpResponse(201, `{}`)))

	// A 5xx without a JSON body still classifies by status.
	err = huaweicloud.ErrorHandler{}.HandleError(nil, httpResponse(502, `bad gateway`))
	pe = huaweicloud.MapError("otcrds", err).(*provider.Error)
	assert.Equal(t, provider.Unavailable, pe.Class)
	assert.Equal(t, "bad gateway", pe.Message)
}

func TestMapErrorKinds(t *testing.T) {
	sre := &sdkerr.ServiceResponseError{StatusCode: 409, ErrorCode: "DBS.201205", ErrorMessage: "backup in progress", RequestId: "r1"}
	cases := []struct {
		name string
		err  error
		want provider.Class
	}{
		{"SDK error by pointer", sre, provider.Busy},
		{"SDK error by value", *sre, provider.Busy},
		{"connection refused", &url.Error{Op: "Post", URL: "http://127.0.0.1:1", Err: errors.New("connection refused")}, provider.Unavailable},
		{"connection reset", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), provider.Unavailable},
		{"SDK timeout", sdkerr.NewRequestTimeoutError("timeout"), provider.Unavailable},
		{"context deadline", context.DeadlineExceeded, provider.Unavailable},
		{"anything else", errors.New("request field Body read null value"), provider.Internal},
		{"already classified", provider.Errorf(provider.Quota, "limit"), provider.Quota},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := huaweicloud.MapError("otcrds", c.err)
			var pe *provider.Error
			require.True(t, errors.As(err, &pe))
			assert.Equal(t, c.want, pe.Class)
			assert.Equal(t, "otcrds", pe.Provider)
			assert.NotEmpty(t, pe.Message)
		})
	}
	assert.NoError(t, huaweicloud.MapError("otcrds", nil))
	pe := huaweicloud.MapError("otcrds", sre).(*provider.Error)
	assert.Equal(t, "DBS.201205", pe.Code)
	assert.Equal(t, "r1", pe.RequestID)
	assert.Equal(t, 409, pe.HTTPStatus)

	assert.True(t, huaweicloud.IsUnauthorized(huaweicloud.MapError("x", &sdkerr.ServiceResponseError{StatusCode: 401})))
	assert.False(t, huaweicloud.IsUnauthorized(huaweicloud.MapError("x", &sdkerr.ServiceResponseError{StatusCode: 403})))
	f := huaweicloud.WithField(pe, "otcrds.name").(*provider.Error)
	assert.Equal(t, "otcrds.name", f.Field)
	assert.Empty(t, pe.Field, "WithField copies")
}

// TestRunHonoursContext runs calls as the drivers do: Run under the
// activity's context, then the error through MapError (each driver's classify).
func TestRunHonoursContext(t *testing.T) {
	run := func(ctx context.Context, fn func() (int, error)) (int, error) {
		v, err := huaweicloud.Run(ctx, "taurusdb", fn)
		return v, huaweicloud.MapError("taurusdb", err)
	}
	release := make(chan struct{})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	began := time.Now()
	_, err := run(ctx, func() (int, error) { <-release; return 1, nil })
	assert.Less(t, time.Since(began), 5*time.Second)
	assert.Equal(t, provider.Unavailable, provider.ClassOf(err))

	called := false
	done, cancelDone := context.WithCancel(context.Background())
	cancelDone()
	_, err = run(done, func() (int, error) { called = true; return 1, nil })
	assert.Equal(t, provider.Unavailable, provider.ClassOf(err))
	assert.False(t, called, "no call with a context already done")

	v, err := run(context.Background(), func() (int, error) { return 0, &sdkerr.ServiceResponseError{StatusCode: 404} })
	assert.Zero(t, v)
	assert.Equal(t, provider.NotFound, provider.ClassOf(err))
}

func TestValidators(t *testing.T) {
	for _, ok := range []string{"abcd", "a" + strings.Repeat("b", 63), "Backup_2026-01-01", "Z9-_"} {
		assert.NoError(t, huaweicloud.ValidateBackupName("x.name", ok), ok)
	}
	for _, bad := range []string{"", "abc", "a" + strings.Repeat("b", 64), "1abc", "-abc", "_abc", "ab.c", "ab c", "äbcd", "abcé"} {
		err := huaweicloud.ValidateBackupName("x.name", bad)
		require.Error(t, err, bad)
		assert.Equal(t, "x.name", err.(*provider.Error).Field)
	}
	for _, ok := range []string{"", strings.Repeat("é", huaweicloud.MaxUserDescription), "multi\nline is fine", "commas, dots. (parens) #%*+/:;?@[]^`{|}~"} {
		assert.NoError(t, huaweicloud.ValidateDescription("x.description", ok), ok)
	}
	tooLong := huaweicloud.ValidateDescription("x.description", strings.Repeat("a", huaweicloud.MaxUserDescription+1))
	require.Error(t, tooLong)
	assert.Contains(t, tooLong.(*provider.Error).Rule, "ownership marker", "the rule says why the limit is below the provider's")
	for _, bad := range []string{strings.Repeat("a", huaweicloud.MaxUserDescription+1), strings.Repeat("a", 256), "a\rb", "!", "<", "\"", "=", "'", ">", "&"} {
		err := huaweicloud.ValidateDescription("x.description", bad)
		require.Error(t, err, bad)
		assert.Equal(t, "x.description", err.(*provider.Error).Field)
		assert.NotEmpty(t, err.(*provider.Error).Rule)
	}
	assert.NoError(t, huaweicloud.ValidateLanguage("x.X-Language", ""))
	assert.NoError(t, huaweicloud.ValidateLanguage("x.X-Language", "en-us"))
	assert.NoError(t, huaweicloud.ValidateLanguage("x.X-Language", "zh-cn"))
	assert.Error(t, huaweicloud.ValidateLanguage("x.X-Language", "en"))
}

func TestParseTime(t *testing.T) {
	want := time.Date(2020, 7, 6, 17, 17, 5, 0, time.UTC)
	for _, s := range []string{"2020-07-07T01:17:05+0800", "2020-07-06T17:17:05Z", "2020-07-06T17:17:05", "2020-07-06T17:17:05+00:00"} {
		got, err := huaweicloud.ParseTime(s)
		require.NoError(t, err, s)
		assert.True(t, want.Equal(got), "%s -> %s", s, got)
	}
	_, err := huaweicloud.ParseTime("yesterday")
	assert.Error(t, err)
	assert.Nil(t, huaweicloud.ParseTimePtr(""))
}

// TestMarkedDescriptionFitsTheProviderRule: the longest description a request
// may carry, with the marker appended, is one the provider accepts (at most
// 256 characters, none it forbids), and it proves the owner and no other.
func TestMarkedDescriptionFitsTheProviderRule(t *testing.T) {
	owner := provider.Owner{WorkflowID: "wf", RunID: "run-1"}
	assert.Equal(t, owner.Marker(), huaweicloud.MarkedDescription("", owner))
	assert.Equal(t, "nightly "+owner.Marker(), huaweicloud.MarkedDescription("nightly", owner))

	longest := strings.Repeat("é", huaweicloud.MaxUserDescription)
	require.NoError(t, huaweicloud.ValidateDescription("x.description", longest))
	marked := huaweicloud.MarkedDescription(longest, owner)
	assert.Equal(t, huaweicloud.MaxDescription, utf8.RuneCountInString(marked), "exactly the provider's limit")
	assert.False(t, strings.ContainsAny(marked, huaweicloud.DescriptionForbidden+"\r"))
	assert.True(t, owner.HasMarker(marked))
	assert.False(t, provider.Owner{WorkflowID: "wf", RunID: "run-2"}.HasMarker(marked), "another run of the same workflow")
}

// TestClaimNeedsTheOwnersMarker: a backup listed under the job's name on its
// instance is the owner's only when its description carries the owner's
// marker; one without it, or with another workflow's, is NotOurs, named.
func TestClaimNeedsTheOwnersMarker(t *testing.T) {
	owner := provider.Owner{WorkflowID: "wf", RunID: "run-1", StartedAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	job := provider.Job{Kind: "create", Owner: owner}
	ref := func(description string) huaweicloud.BackupRef {
		// Begun after the workflow started: time is no proof either way.
		return huaweicloud.BackupRef{ID: "b-1", Name: "nightly", InstanceID: "i-1", BeginTime: "2026-03-01T12:00:10+0000", Description: description}
	}

	op, err := ref(huaweicloud.MarkedDescription("nightly", owner)).Claim("taurusdb", job)
	require.NoError(t, err)
	require.NotNil(t, op)
	assert.Equal(t, "b-1", op.BackupID)
	assert.Equal(t, "i-1", op.Resource)

	other := provider.Owner{WorkflowID: "other", RunID: "run-1"}
	for name, description := range map[string]string{
		"no description":            "",
		"a person's description":    "made by hand",
		"another workflow's marker": huaweicloud.MarkedDescription("nightly", other),
		"a truncated marker":        owner.Marker()[:provider.MarkerLen-1],
	} {
		t.Run(name, func(t *testing.T) {
			op, err := ref(description).Claim("taurusdb", job)
			assert.Nil(t, op)
			require.Error(t, err)
			assert.Equal(t, provider.AlreadyExists, provider.ClassOf(err))
			assert.Equal(t, []string{"b-1"}, provider.UnprovenOf(err))
			assert.Contains(t, err.Error(), "b-1")
			assert.Contains(t, err.Error(), "carries no backupflow marker of this workflow")
		})
	}
}

func TestParsePercent(t *testing.T) {
	for in, want := range map[string]float64{"60%": 60, "0%": 0, "100%": 100, " 7 % ": 7, "12.5": 12.5, "150%": 100} {
		got, ok := huaweicloud.ParsePercent(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, got, in)
	}
	for _, in := range []string{"", "%", "half"} {
		_, ok := huaweicloud.ParsePercent(in)
		assert.False(t, ok, in)
	}
}

// TestStartOrAdoptOnNameConflict: when the create meets a same-name backup
// that appeared after the first look (AlreadyExists), the second look
// decides: the owner's is adopted, an unproven one is refused as such, and a
// name taken where the look does not reach names the field and the rule.
func TestStartOrAdoptOnNameConflict(t *testing.T) {
	job := provider.Job{Kind: "create", Owner: provider.Owner{WorkflowID: "wf", RunID: "r"}}
	conflict := &provider.Error{Class: provider.AlreadyExists, Provider: "otcrds", Code: "DBS.201201", Message: "The object already exists"}
	mine := &provider.Operation{ID: "b-1", BackupID: "b-1"}
	unproven := huaweicloud.NotOurs("otcrds", "b-2", "no marker")
	for name, c := range map[string]struct {
		second  func() (*provider.Operation, error)
		wantOp  string
		wantErr func(t *testing.T, err error)
	}{
		"the owner's appeared": {second: func() (*provider.Operation, error) { return mine, nil }, wantOp: "b-1"},
		"an unproven one appeared": {second: func() (*provider.Operation, error) { return nil, unproven }, wantErr: func(t *testing.T, err error) {
			assert.Equal(t, []string{"b-2"}, provider.UnprovenOf(err))
		}},
		"taken out of sight": {second: func() (*provider.Operation, error) { return nil, nil }, wantErr: func(t *testing.T, err error) {
			var e *provider.Error
			require.True(t, errors.As(err, &e))
			assert.Equal(t, provider.AlreadyExists, e.Class)
			assert.Equal(t, "otcrds.name", e.Field)
			assert.Equal(t, "names are unique in the project", e.Rule)
			assert.Empty(t, e.Unproven, "nothing named, nothing kept")
		}},
	} {
		t.Run(name, func(t *testing.T) {
			looks, creates := 0, 0
			find := func(context.Context, provider.Job) (*provider.Operation, error) {
				looks++
				if looks == 1 {
					return nil, nil
				}
				return c.second()
			}
			op, err := huaweicloud.StartOrAdopt(context.Background(), "otcrds", "names are unique in the project", job, find,
				func() (provider.Operation, error) { creates++; return provider.Operation{}, conflict })
			assert.Equal(t, 2, looks)
			assert.Equal(t, 1, creates, "never a second create")
			if c.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, c.wantOp, op.BackupID)
				return
			}
			require.Error(t, err)
			assert.Empty(t, op.BackupID)
			c.wantErr(t, err)
		})
	}
}

// TestListBackupsFollowsTotalCount: pages shorter than asked for do not end
// the listing, total_count does; an entry a shifting list repeats is kept
// once; an empty page ends it even below total_count.
func TestListBackupsFollowsTotalCount(t *testing.T) {
	type entry struct{ id string }
	pages := map[int][]entry{0: {{"a"}, {"b"}}, 2: {{"b"}, {"c"}}, 4: {{"d"}}}
	var offsets []int
	list := func(offset int) (*[]entry, int, error) {
		offsets = append(offsets, offset)
		p := pages[offset]
		return &p, 5, nil
	}
	got, err := huaweicloud.ListBackups("taurusdb", backup.KindCreate, "inst", list, func(e *entry) backup.Backup { return backup.Backup{ID: e.id} })
	require.NoError(t, err)
	var ids []string
	for _, b := range got {
		ids = append(ids, b.ID)
	}
	assert.Equal(t, []string{"a", "b", "c", "d"}, ids)
	assert.Equal(t, []int{0, 2, 4}, offsets, "each next offset is after the items read, until total_count")

	offsets = nil
	pages = map[int][]entry{0: {{"a"}}}
	got, err = huaweicloud.ListBackups("taurusdb", backup.KindCreate, "inst", list, func(e *entry) backup.Backup { return backup.Backup{ID: e.id} })
	require.NoError(t, err)
	assert.Len(t, got, 1)
	assert.Equal(t, []int{0, 1}, offsets, "an empty page ends the listing")

	_, err = huaweicloud.ListBackups("taurusdb", backup.KindCopy, "inst", list, func(e *entry) backup.Backup { return backup.Backup{} })
	assert.Equal(t, provider.Unsupported, provider.ClassOf(err), "the family has no copies to list")
	_, err = huaweicloud.ListBackups("otcrds", backup.KindCreate, "", list, func(e *entry) backup.Backup { return backup.Backup{} })
	var pe *provider.Error
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "otcrds.instance_id", pe.Field)

	offsets = nil
	full := make([]entry, huaweicloud.PageSize)
	for i := range full {
		full[i] = entry{fmt.Sprint("e", i)}
	}
	pages = map[int][]entry{0: full, huaweicloud.PageSize: {{"last"}}}
	unknownTotal := func(offset int) (*[]entry, int, error) {
		offsets = append(offsets, offset)
		p := pages[offset]
		return &p, huaweicloud.TotalCount[int64](nil), nil
	}
	got, err = huaweicloud.ListBackups("taurusdb", backup.KindCreate, "inst", unknownTotal, func(e *entry) backup.Backup { return backup.Backup{ID: e.id} })
	require.NoError(t, err)
	assert.Len(t, got, huaweicloud.PageSize+1)
	assert.Equal(t, []int{0, huaweicloud.PageSize}, offsets, "without total_count, a short page is the last")

	failing := func(int) (*[]entry, int, error) { return nil, 0, provider.Errorf(provider.Unavailable, "down") }
	_, err = huaweicloud.ListBackups("otcrds", backup.KindCreate, "inst", failing, func(e *entry) backup.Backup { return backup.Backup{} })
	assert.Equal(t, provider.Unavailable, provider.ClassOf(err))
}
