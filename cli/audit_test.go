package cli

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/backupflow/backupflow/plan"
)

// fixtureSince is a seven-day window before fixtureNow.
var fixtureSince = ts("2026-11-26T08:00:00Z")

const wantMarkdown = `# Backup audit report

Window: 2026-11-26T08:00:00Z to 2026-12-03T08:00:00Z (generated 2026-12-03T08:00:00Z; times in UTC).

## Plan broken

### Target billing (memory billing-db)

No evidence: the inventory could not be read: query inventory plan-inventory/broken/billing (is a worker running?): context deadline exceeded

## Plan nightly

### Target orders (memory orders-db)

RPO 1d. 3 backups made, 2 failures, 1 retention deletion, 2 holds, 1 RPO breach.

#### Backups made

| Created | Kind | Backup ID | Backup name |
| --- | --- | --- | --- |
| 2026-11-30T02:05:00Z | create | b-1 | orders-1130 |
| 2026-12-01T02:05:00Z | create | b-2 | orders-1201 |
| 2026-12-01T02:30:00Z | copy | c-2 | - |

#### Failures

| Scheduled | Kind | Outcome | Backup ID | Failure |
| --- | --- | --- | --- | --- |
| 2026-12-02T02:00:00Z | create | failed | - | disk full, retry later |
| 2026-12-03T02:00:00Z | create | missed | - | not started within the start window |

#### Retention deletions

| Deleted | Kind | Backup ID | Backup name | Reason |
| --- | --- | --- | --- | --- |
| 2026-12-02T03:00:00Z | create | b-1 | orders-1130 | not kept by keepLast 1 \| keepLastGood 1 |

#### Holds

| Backup | By | Since | Reason |
| --- | --- | --- | --- |
| b-2 | alice | 2026-12-01T10:00:00Z | legal hold |
| (all backups) | bob | 2026-12-02T00:00:00Z | audit |

#### RPO breaches

| Since | Until | RPO | Duration |
| --- | --- | --- | --- |
| 2026-12-02T02:05:00Z | open | 1d | 1d5h55m |

### Target users (memory users-db)

RPO none. 1 backup made, 0 failures, 0 retention deletions, 0 holds, 0 RPO breaches.

#### Backups made

| Created | Kind | Backup ID | Backup name |
| --- | --- | --- | --- |
| 2026-12-03T02:01:00Z | create | u-1 | - |

#### Failures

None.

#### Retention deletions

None.

#### Holds

None.

#### RPO breaches

None.

`

const wantCSV = `section,plan,target,provider,resource,time,until,kind,backup_id,backup_name,outcome,detail,by,rpo,duration
error,broken,billing,memory,billing-db,,,,,,,inventory unreadable: query inventory plan-inventory/broken/billing (is a worker running?): context deadline exceeded,,2d,
made,nightly,orders,memory,orders-db,2026-11-30T02:05:00Z,,create,b-1,orders-1130,succeeded,,,1d,
made,nightly,orders,memory,orders-db,2026-12-01T02:05:00Z,,create,b-2,orders-1201,succeeded,,,1d,
made,nightly,orders,memory,orders-db,2026-12-01T02:30:00Z,,copy,c-2,,succeeded,,,1d,
failure,nightly,orders,memory,orders-db,2026-12-02T02:00:00Z,,create,,,failed,"disk full,
retry later",,1d,
failure,nightly,orders,memory,orders-db,2026-12-03T02:00:00Z,,create,,,missed,not started within the start window,,1d,
deletion,nightly,orders,memory,orders-db,2026-12-02T03:00:00Z,,create,b-1,orders-1130,,not kept by keepLast 1 | keepLastGood 1,,1d,
hold,nightly,orders,memory,orders-db,2026-12-01T10:00:00Z,,,b-2,,,legal hold,alice,1d,
hold,nightly,orders,memory,orders-db,2026-12-02T00:00:00Z,,,,,,audit,bob,1d,
breach,nightly,orders,memory,orders-db,2026-12-02T02:05:00Z,open,,,,,,,1d,1d5h55m
made,nightly,users,memory,users-db,2026-12-03T02:01:00Z,,create,u-1,,succeeded,,,none,
`

const wantJSON = `{
  "since": "2026-11-26T08:00:00Z",
  "until": "2026-12-03T08:00:00Z",
  "generatedAt": "2026-12-03T08:00:00Z",
  "plans": [
    {
      "plan": "broken",
      "targets": [
        {
          "target": "billing",
          "provider": "memory",
          "resource": "billing-db",
          "rpo": "2d",
          "error": "query inventory plan-inventory/broken/billing (is a worker running?): context deadline exceeded",
          "summary": {
            "made": 0,
            "failures": 0,
            "deletions": 0,
            "holds": 0,
            "breaches": 0
          },
          "made": [],
          "failures": [],
          "deletions": [],
          "holds": [],
          "breaches": []
        }
      ]
    },
    {
      "plan": "nightly",
      "targets": [
        {
          "target": "orders",
          "provider": "memory",
          "resource": "orders-db",
          "rpo": "1d",
          "summary": {
            "made": 3,
            "failures": 2,
            "deletions": 1,
            "holds": 2,
            "breaches": 1
          },
          "made": [
            {
              "at": "2026-11-30T02:05:00Z",
              "kind": "create",
              "backupId": "b-1",
              "backupName": "orders-1130"
            },
            {
              "at": "2026-12-01T02:05:00Z",
              "kind": "create",
              "backupId": "b-2",
              "backupName": "orders-1201"
            },
            {
              "at": "2026-12-01T02:30:00Z",
              "kind": "copy",
              "backupId": "c-2"
            }
          ],
          "failures": [
            {
              "scheduledAt": "2026-12-02T02:00:00Z",
              "kind": "create",
              "outcome": "failed",
              "failure": "disk full,\nretry later"
            },
            {
              "scheduledAt": "2026-12-03T02:00:00Z",
              "kind": "create",
              "outcome": "missed",
              "failure": "not started within the start window"
            }
          ],
          "deletions": [
            {
              "deletedAt": "2026-12-02T03:00:00Z",
              "kind": "create",
              "backupId": "b-1",
              "backupName": "orders-1130",
              "reason": "not kept by keepLast 1 | keepLastGood 1"
            }
          ],
          "holds": [
            {
              "backupId": "b-2",
              "by": "alice",
              "reason": "legal hold",
              "at": "2026-12-01T10:00:00Z"
            },
            {
              "by": "bob",
              "reason": "audit",
              "at": "2026-12-02T00:00:00Z"
            }
          ],
          "breaches": [
            {
              "since": "2026-12-02T02:05:00Z",
              "open": true,
              "rpo": "1d",
              "lastGood": "2026-12-01T02:05:00Z",
              "durationSeconds": 107700,
              "duration": "1d5h55m"
            }
          ]
        },
        {
          "target": "users",
          "provider": "memory",
          "resource": "users-db",
          "rpo": "none",
          "summary": {
            "made": 1,
            "failures": 0,
            "deletions": 0,
            "holds": 0,
            "breaches": 0
          },
          "made": [
            {
              "at": "2026-12-03T02:01:00Z",
              "kind": "create",
              "backupId": "u-1"
            }
          ],
          "failures": [],
          "deletions": [],
          "holds": [],
          "breaches": []
        }
      ]
    }
  ],
  "exitCode": 7
}
`

func auditText(t *testing.T, rep *AuditReport, format string) string {
	t.Helper()
	rep.format = format
	var b strings.Builder
	rep.writeText(&b)
	return b.String()
}

func TestReportMarkdownCSVAndJSON(t *testing.T) {
	rep := buildAudit(fixturePlans(t), fixtureSince, fixtureNow, fixtureNow)
	assert.Equal(t, ExitUnknown, rep.exitCode(), "an unreadable inventory is missing evidence")
	assert.Equal(t, "plan broken target billing: no evidence, inventory unreadable: query inventory plan-inventory/broken/billing (is a worker running?): context deadline exceeded", rep.errorText())
	assert.Equal(t, wantMarkdown, auditText(t, rep, FormatMarkdown))
	assert.Equal(t, wantCSV, auditText(t, rep, FormatCSV))
	assert.JSONEq(t, wantJSON, auditText(t, rep, FormatJSON))

	// Deterministic: the same inventories give the same report.
	again := buildAudit(fixturePlans(t), fixtureSince, fixtureNow, fixtureNow)
	assert.Equal(t, wantCSV, auditText(t, again, FormatCSV))
}

func TestReportEmptyWindow(t *testing.T) {
	rep := buildAudit(fixturePlans(t)[1:], ts("2026-10-01T00:00:00Z"), ts("2026-10-02T00:00:00Z"), fixtureNow)
	assert.Equal(t, ExitOK, rep.exitCode())
	require.Len(t, rep.Plans[0].Targets, 2)
	for _, tg := range rep.Plans[0].Targets {
		assert.Equal(t, AuditSummary{}, tg.Summary, tg.Target)
	}
	assert.Equal(t, strings.Join(CSVHeader, ",")+"\n", auditText(t, rep, FormatCSV), "only the header")
	md := auditText(t, rep, FormatMarkdown)
	assert.Contains(t, md, "RPO 1d. 0 backups made, 0 failures, 0 retention deletions, 0 holds, 0 RPO breaches.\n")
	assert.Equal(t, 10, strings.Count(md, "None.\n"), "five empty sections per target")
	assert.NotContains(t, md, "| ---")

	rep = buildAudit(nil, fixtureSince, fixtureNow, fixtureNow)
	assert.Equal(t, ExitOK, rep.exitCode())
	assert.Equal(t, "# Backup audit report\n\nWindow: 2026-11-26T08:00:00Z to 2026-12-03T08:00:00Z (generated 2026-12-03T08:00:00Z; times in UTC).\n\nNo plans applied.\n",
		auditText(t, rep, FormatMarkdown))
}

func TestReportWindowBounds(t *testing.T) {
	// The window includes its start and excludes its end.
	rep := buildAudit(fixturePlans(t)[1:], ts("2026-12-01T02:05:00Z"), ts("2026-12-01T02:30:00Z"), fixtureNow)
	made := rep.Plans[0].Targets[0].Made
	require.Len(t, made, 1)
	assert.Equal(t, "b-2", made[0].BackupID)

	// A closed breach overlapping the window, with its whole duration.
	rep = buildAudit(fixturePlans(t)[1:], ts("2026-11-10T09:00:00Z"), ts("2026-11-11T00:00:00Z"), fixtureNow)
	breaches := rep.Plans[0].Targets[0].Breaches
	require.Len(t, breaches, 1)
	assert.Equal(t, AuditBreach{Since: ts("2026-11-10T03:00:00Z"), Until: tp("2026-11-10T09:30:00Z"), RPO: "1d",
		LastGood: tp("2026-11-09T02:05:00Z"), DurationSeconds: 6*3600 + 30*60, Duration: "6h30m"}, breaches[0])
	assert.Contains(t, auditText(t, rep, FormatMarkdown), "| 2026-11-10T03:00:00Z | 2026-11-10T09:30:00Z | 1d | 6h30m |\n")

	// A breach the inventory has not recorded yet (the deadline passed) is reported open.
	reads := fixturePlans(t)[1:]
	inv := reads[0].desc.Inventories[0].Inventory
	inv.Breaches = inv.Breaches[:1]
	rep = buildAudit(reads, fixtureSince, fixtureNow, fixtureNow)
	assert.Equal(t, []AuditBreach{{Since: ts("2026-12-02T02:05:00Z"), Open: true, RPO: "1d", LastGood: tp("2026-12-01T02:05:00Z"),
		DurationSeconds: 107700, Duration: "1d5h55m"}}, rep.Plans[0].Targets[0].Breaches)
}

func TestReportNoInventoryAndUnreadablePlan(t *testing.T) {
	d := &plan.Description{
		Name: "fresh", CreatedAt: fixtureNow.Add(-time.Hour),
		Plan:        &plan.Plan{Name: "fresh", Targets: []plan.Target{{Name: "orders", Request: memoryRequest(t, "orders-db")}}},
		Inventories: []plan.TargetInventory{{Target: "orders"}},
	}
	rep := buildAudit([]planRead{{name: "fresh", desc: d}, {name: "odd", desc: &plan.Description{Name: "odd", PlanError: "decode: bad"}}},
		fixtureSince, fixtureNow, fixtureNow)
	assert.Equal(t, ExitUnknown, rep.exitCode())
	assert.True(t, rep.Plans[0].Targets[0].NoInventory)
	md := auditText(t, rep, FormatMarkdown)
	assert.Contains(t, md, "RPO none. 0 backups made, 0 failures, 0 retention deletions, 0 holds, 0 RPO breaches. No inventory yet: the plan has not run for this target.\n")
	assert.Contains(t, md, "## Plan odd\n\nNo evidence: the applied plan is unreadable: decode: bad\n")
	assert.Contains(t, auditText(t, rep, FormatCSV), "\nerror,odd,,,,,,,,,,the applied plan is unreadable: decode: bad,,,\n")
}

func TestReportWritesFile(t *testing.T) {
	reads := fixturePlans(t)[1:]
	reads[0].desc.Inventories[0].Inventory.Entries[0].DeletedReason = "gone\x1b[2J"
	rep := buildAudit(reads, fixtureSince, fixtureNow, fixtureNow)
	rep.format = FormatMarkdown
	path := filepath.Join(t.TempDir(), "audit.md")
	out := writeAudit(rep, path)
	assert.Equal(t, ExitOK, out.exitCode())
	var b strings.Builder
	out.writeText(&b)
	assert.Equal(t, "wrote the markdown report (1 plan, 2 targets, 2026-11-26T08:00:00Z to 2026-12-03T08:00:00Z) to "+path+"\n", b.String())
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(string(raw), "# Backup audit report\n"))
	assert.Contains(t, string(raw), `| gone\x1b[2J |`, "control characters are escaped in the file too")
	assert.NotContains(t, string(raw), "\x1b")

	out = writeAudit(rep, filepath.Join(t.TempDir(), "missing", "audit.md"))
	assert.Equal(t, ExitBadInput, out.exitCode())
	assert.Contains(t, out.errorText(), "--out: open ")
}

func TestParseWhen(t *testing.T) {
	got, err := parseWhen("--since", "30d", fixtureNow)
	require.NoError(t, err)
	assert.Equal(t, ts("2026-11-03T08:00:00Z"), got)
	got, err = parseWhen("--since", "1d12h", fixtureNow)
	require.NoError(t, err)
	assert.Equal(t, ts("2026-12-01T20:00:00Z"), got)
	got, err = parseWhen("--until", "2026-11-01T01:00:00+01:00", fixtureNow)
	require.NoError(t, err)
	assert.Equal(t, "2026-11-01T00:00:00Z", got.Format(time.RFC3339), "in UTC")
}

func TestReportBadInputExitsTwoWithoutDialling(t *testing.T) {
	cases := map[string]struct {
		args []string
		want string
	}{
		"no since":         {[]string{"report"}, "--since: is required: a duration back from now (30d, 12h, 1d12h) or an RFC 3339 time"},
		"since not a time": {[]string{"report", "--since", "yesterday"}, `--since: must be a duration back from now (30d, 12h, 1d12h) or an RFC 3339 time (2026-11-01T00:00:00Z): "yesterday" is not a duration`},
		"negative since":   {[]string{"report", "--since", "-3d"}, `--since: must be a duration back from now (30d, 12h, 1d12h) or an RFC 3339 time (2026-11-01T00:00:00Z): "-3d" is negative`},
		"bad until":        {[]string{"report", "--since", "30d", "--until", "2026-13-01"}, "--until: must be a duration back from now"},
		"empty window":     {[]string{"report", "--since", "1h", "--until", "2d"}, "--since: must be before --until: the window "},
		"zero window":      {[]string{"report", "--since", "0"}, "--since: must be before --until"},
		"unknown format":   {[]string{"report", "--since", "30d", "--format", "xml"}, `--format: must be markdown, csv or json, got "xml"`},
		"json output csv":  {[]string{"report", "--since", "30d", "--format", "csv", "--output", "json"}, "--format: --output json prints the report as JSON"},
		"stray argument":   {[]string{"report", "nightly", "--since", "30d"}, `unexpected argument "nightly": name a plan with --plan`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := run(t, nil, nil, c.args...)
			assert.Equal(t, ExitBadInput, code)
			assert.Contains(t, errOut, c.want)
			if slices.Contains(c.args, "--output") {
				assert.Contains(t, out, `"field": "--format"`, "one JSON document naming the flag")
			} else {
				assert.Empty(t, out)
			}
		})
	}
}
