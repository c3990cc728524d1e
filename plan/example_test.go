package plan_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/plan"
)

// A plan file: a Spanner database backed up every night at 02:00 Berlin
// time and copied to a second instance, an OTC RDS instance every six
// hours. The check stands in for the provider drivers' validation, which
// the backupflow CLI passes.
func Example() {
	file := []byte(`
version: 1
plans:
  - name: nightly
    schedule:
      cron: "0 2 * * *"
      timeZone: Europe/Berlin
      jitter: 15m
    startWindow: 1h
    completionWindow: 8h
    retention:
      daily: 7
      weekly: 4
      monthly: 6
      keepLastGood: 3
    targets:
      - name: orders
        request:
          provider: spanner
          spanner:
            parent: projects/shop/instances/main
            backupId: ${target}-${date}
            backup:
              database: projects/shop/instances/main/databases/orders
              expireTime: ${expireTime}
        copy:
          request:
            provider: spanner
            spanner:
              parent: projects/shop/instances/dr
              backupId: ${target}-${date}-dr
              sourceBackup: ${backup}
              expireTime: ${expireTime}
          retention:
            monthly: 3
            keepLastGood: 1
  - name: every-6h
    schedule: {every: 6h}
    startWindow: 30m
    completionWindow: 5h
    overlap: bufferOne
    retention: {keepLast: 8, maxAge: 3d, keepLastGood: 2}
    targets:
      - name: billing
        request:
          provider: otcrds
          otcrds: {instance_id: 7c1b9bd2f0b44b5a9b6e0e1fe4d3ad9ain03, name: "billing-${time}"}
`)
	f, err := plan.Parse(file)
	if err != nil {
		fmt.Println(err)
		return
	}
	check := func(provider string, kind backup.Kind, section json.RawMessage) error {
		fmt.Printf("%s %s: %s\n", provider, kind, section)
		return nil
	}
	if err := f.Validate(check); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("valid:", len(f.Plans), "plans")
	// Output:
	// spanner create: {"backup":{"database":"projects/shop/instances/main/databases/orders","expireTime":"2030-07-07T03:04:05Z"},"backupId":"orders-20300102","parent":"projects/shop/instances/main"}
	// spanner copy: {"backupId":"orders-20300102-dr","expireTime":"2030-04-05T03:04:05Z","parent":"projects/shop/instances/dr","sourceBackup":"sample-backup"}
	// otcrds create: {"instance_id":"7c1b9bd2f0b44b5a9b6e0e1fe4d3ad9ain03","name":"billing-20300102-030405"}
	// valid: 2 plans
}

// Every mistake of a file is reported at once, each naming its plan,
// target and field.
func ExampleFile_Validate() {
	f, err := plan.Parse([]byte(`
version: 1
plans:
  - name: nightly
    schedule: {cron: "0 2 * * *", jitter: 2h}
    startWindow: 1h
    completionWindow: 8h
    retention: {keepLast: 14, keepLastGood: 0}
    targets:
      - name: orders
        request:
          provider: alirds
          alirds: {DBInstanceId: rm-1, DBName: "${database}"}
        copy:
          request: {provider: alirds, alirds: {}}
          retention: {keepLastGood: 1}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.Validate(nil))
	// Output:
	// plan "nightly": schedule.jitter: must be less than 1h with a cron schedule, got 2h
	// plan "nightly": startWindow: must be more than schedule.jitter (2h): a run delayed by jitter would be reported missed
	// plan "nightly": retention.keepLastGood: must be at least 1, got 0: the newest good backup is never deleted
	// plan "nightly": target "orders": request.alirds.DBName: unknown placeholder ${database}; known: ${plan}, ${target}, ${date}, ${time}, ${unix}, ${expireTime}, ${backup}
	// plan "nightly": target "orders": copy: provider alirds has no copy API
}

// Retention keeps the newest backup of each of the last days and weeks,
// and the floor; it says why for every backup.
func ExampleDecide() {
	start := time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC)
	var entries []plan.Entry
	for day := range 10 {
		at := start.AddDate(0, 0, day)
		e := plan.Entry{ScheduledAt: at, Kind: backup.KindCreate, Outcome: plan.OutcomeSucceeded, BackupID: at.Format("bk-0102")}
		if day == 9 {
			e.Outcome, e.BackupID = plan.OutcomeFailed, "" // the last run made nothing
		}
		entries = append(entries, e)
	}
	holds := []plan.Hold{{BackupID: "bk-0101", By: "alice", Reason: "audit 2026"}}
	r := plan.Retention{Daily: 3, Weekly: 2, KeepLastGood: 1}
	for _, d := range plan.Decide(entries, holds, r, time.UTC, start.AddDate(0, 0, 10)) {
		verdict := "keep  "
		if d.Delete {
			verdict = "delete"
		}
		fmt.Println(d.BackupID, verdict, d.Reason)
	}
	// Output:
	// bk-0101 keep   held by alice: audit 2026
	// bk-0102 delete no rule keeps it: not the last good backup; not the newest of one of the last 3 days with a good backup (daily); not the newest of one of the last 2 ISO weeks with a good backup (weekly); not held
	// bk-0103 delete no rule keeps it: not the last good backup; not the newest of one of the last 3 days with a good backup (daily); not the newest of one of the last 2 ISO weeks with a good backup (weekly); not held
	// bk-0104 keep   weekly: newest of 2026-W01
	// bk-0105 delete no rule keeps it: not the last good backup; not the newest of one of the last 3 days with a good backup (daily); not the newest of one of the last 2 ISO weeks with a good backup (weekly); not held
	// bk-0106 delete no rule keeps it: not the last good backup; not the newest of one of the last 3 days with a good backup (daily); not the newest of one of the last 2 ISO weeks with a good backup (weekly); not held
	// bk-0107 keep   daily: newest of 2026-01-07
	// bk-0108 keep   daily: newest of 2026-01-08
	// bk-0109 keep   floor: the last good backup; daily: newest of 2026-01-09; weekly: newest of 2026-W02
}
