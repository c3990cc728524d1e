// Package huaweicloud is not a driver: it is the plumbing the drivers of the
// Huawei Cloud API family share (taurusdb, TaurusDB on Huawei Cloud, and
// otcrds, RDS v3 on Open Telekom Cloud). Every concept both need lives here
// once; the drivers only add what their APIs do differently. Its files keep
// the roles of a driver package's files where those roles exist:
//
//   - driver.go: the driver steps both take alike (decoding a create,
//     validate, start-or-adopt, paging through backup lists, the status of a
//     listed or missing backup, delete, describe, list);
//   - config.go: the configuration checks both drivers' settings share;
//   - errors.go: MapError, the one mapping of the family's {error_code,
//     error_msg} answers into the provider taxonomy, and its code tables
//     (the family's and each service's own);
//   - rules.go: the request-field rules both create APIs document (backup
//     name, description, X-Language);
//   - call.go: building SDK clients and running their context-less calls;
//   - owner.go: the family's time formats and the ownership marker in a
//     backup's description.
//
// Each fact comes from docs/providers/taurusdb.md or docs/providers/otcrds.md,
// which give its public source or mark it as a guess.
package huaweicloud

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
)

// The steps below are the same in both family drivers; the drivers keep what
// their APIs do differently (TaurusDB's job API and X-Language; OTC's missing
// job ID, instance checks and token authentication). Fields in errors are
// named "<provider>.<json field>".

// PageSize is the page the drivers ask list APIs for: the family's maximum.
const PageSize = 100

// DecodeCreate decodes a create section strictly into section. The family's
// APIs have no per-backup call but create: any other kind is Unsupported,
// with unsupported as the message.
func DecodeCreate(providerName string, kind backup.Kind, raw json.RawMessage, section any, unsupported string) error {
	if kind != backup.KindCreate {
		return &provider.Error{Class: provider.Unsupported, Provider: providerName, Field: "kind", Rule: "create only",
			Message: unsupported}
	}
	if err := backup.DecodeStrict(raw, section); err != nil {
		return provider.Invalid(providerName, "%v", err)
	}
	return nil
}

// ValidateNameAndDescription applies the backup-name and description rules to
// the fields <provider>.name and <provider>.description.
func ValidateNameAndDescription(providerName, name, description string) error {
	if err := ValidateBackupName(providerName+".name", name); err != nil {
		return err
	}
	return ValidateDescription(providerName+".description", description)
}

// StartOrAdopt creates a backup unless find returns the one job's owner made
// earlier (or refuses, NotOurs, a same-name backup it cannot prove is the
// owner's). When create answers AlreadyExists (the name appeared between find
// and create), find decides again: the owner's backup is adopted, another is
// NotOurs, and a name taken where find does not look is AlreadyExists on
// <provider>.name under nameRule, where the API says names are unique.
func StartOrAdopt(ctx context.Context, providerName, nameRule string, job provider.Job,
	find func(context.Context, provider.Job) (*provider.Operation, error),
	create func() (provider.Operation, error)) (provider.Operation, error) {
	if op, err := find(ctx, job); err != nil || op != nil {
		if err != nil {
			return provider.Operation{}, err
		}
		return *op, nil
	}
	op, err := create()
	var pe *provider.Error
	if errors.As(err, &pe) && pe.Class == provider.AlreadyExists {
		found, ferr := find(ctx, job)
		if ferr != nil {
			return provider.Operation{}, ferr
		}
		if found != nil {
			return *found, nil
		}
		cp := *pe
		cp.Field, cp.Rule = providerName+".name", nameRule
		cp.Message = fmt.Sprintf("%s: the name is used by a backup the instance's backup list does not show (%s)", pe.Message, nameRule)
		return provider.Operation{}, &cp
	}
	return op, err
}

// BackupRef is a backup of an instance as the family's create and list
// answers name it. Description is what the answer says ("" when it says nothing).
type BackupRef struct {
	ID, Name, InstanceID, BeginTime, Description string
}

// Operation is the Operation of the backup, with the backup ID as operation
// ID (a driver that has a job ID puts it in instead).
func (b BackupRef) Operation(kind backup.Kind) provider.Operation {
	return provider.Operation{ID: b.ID, BackupID: b.ID, BackupName: b.Name, Resource: b.InstanceID, Kind: kind,
		StartedAt: ParseTimePtr(b.BeginTime)}
}

// First returns the first of items (nil: none) that match accepts, or nil.
func First[T any](items *[]T, match func(T) bool) *T {
	if items == nil {
		return nil
	}
	for i := range *items {
		if match((*items)[i]) {
			return &(*items)[i]
		}
	}
	return nil
}

// ListPage is one call of a family list API at offset (asking for PageSize
// items): the items of the page and the total_count the answer reports, -1
// when it reports none.
type ListPage[T any] func(offset int) (items *[]T, total int, err error)

// TotalCount is an answer's total_count for a ListPage: -1 when absent.
func TotalCount[N int32 | int64](n *N) int {
	if n == nil {
		return -1
	}
	return int(*n)
}

// eachItem calls list from offset 0, each next offset after the items read,
// and visit on each item until visit returns false. It stops at an empty
// page or once it has read total_count items: a server may answer fewer than
// asked for, so a short page is the end only when total_count is missing.
func eachItem[T any](list ListPage[T], visit func(*T) bool) error {
	for offset := 0; ; {
		items, total, err := list(offset)
		if err != nil {
			return err
		}
		if items == nil || len(*items) == 0 {
			return nil
		}
		for i := range *items {
			if !visit(&(*items)[i]) {
				return nil
			}
		}
		offset += len(*items)
		if total >= 0 && offset >= total || total < 0 && len(*items) < PageSize {
			return nil
		}
	}
}

// FindInPages returns the first item of the list match accepts, or nil.
func FindInPages[T any](list ListPage[T], match func(T) bool) (*T, error) {
	var found *T
	err := eachItem(list, func(item *T) bool {
		if match(*item) {
			found = item
		}
		return found == nil
	})
	return found, err
}

// ListBackups is a family driver's List: every backup the list shows at
// instance, each as summary reports it. The family's only kind is create.
// The lists are newest first, so a backup made while the pages are read
// shifts the rest by one: an entry seen twice is kept once.
func ListBackups[T any](providerName string, kind backup.Kind, instance string, list ListPage[T], summary func(*T) backup.Backup) ([]backup.Backup, error) {
	if kind != backup.KindCreate {
		return nil, &provider.Error{Class: provider.Unsupported, Provider: providerName, Field: "kind", Rule: "create only",
			Message: fmt.Sprintf("%s makes no %s backups, so it lists none", providerName, kind)}
	}
	if instance == "" {
		return nil, provider.Invalid(providerName+".instance_id", "is required: the instance whose backups are listed")
	}
	var out []backup.Backup
	seen := map[string]bool{}
	err := eachItem(list, func(item *T) bool {
		if b := summary(item); !seen[b.ID] {
			seen[b.ID] = true
			out = append(out, b)
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Validate is a family driver's registered, config-free validation: parse's
// rules, and the target, from the instance and backup name target reads.
func Validate[S any](parse func(backup.Kind, json.RawMessage) (S, error), target func(S) (instance, backupName string)) provider.ValidateFunc {
	return func(kind backup.Kind, raw json.RawMessage, _ time.Time) (provider.Target, error) {
		s, err := parse(kind, raw)
		if err != nil {
			return provider.Target{}, err
		}
		instance, backupName := target(s)
		return provider.Target{Resource: instance, BackupName: backupName}, nil
	}
}

// IgnoreNotFound is err, except that NotFound is no error: for a backup that
// may be gone already.
func IgnoreNotFound(err error) error {
	if provider.IsClass(err, provider.NotFound) {
		return nil
	}
	return err
}

// DeleteBackup runs del unless op has no backup; a backup already gone is
// success (a building one is the provider's Busy answer).
func DeleteBackup(op provider.Operation, del func() error) error {
	if op.BackupID == "" {
		return nil
	}
	return IgnoreNotFound(del())
}

// MissingBackupStatus is the Status of a backup the list does not show: still
// running while it may not be visible yet (within VisibilityGrace of its
// start), else gone.
func MissingBackupStatus(op provider.Operation, now time.Time) provider.Status {
	if op.StartedAt != nil && now.Sub(*op.StartedAt) < VisibilityGrace {
		return provider.Status{Phase: provider.PhaseRunning, Percent: -1, ProviderState: "NOT_VISIBLE_YET", StartedAt: op.StartedAt}
	}
	return provider.Status{Phase: provider.PhaseGone, Percent: -1, ProviderState: "DELETED", StartedAt: op.StartedAt}
}

// ListedBackupStatus is the Status of a backup-list entry in state, begun at
// beginTime: COMPLETED succeeded, FAILED failed, anything else (BUILDING)
// running with no figure. Drivers add the states only their API has.
func ListedBackupStatus(op provider.Operation, state, beginTime string) provider.Status {
	st := provider.Status{ProviderState: state, Percent: -1, StartedAt: op.StartedAt}
	if t := ParseTimePtr(beginTime); t != nil {
		st.StartedAt = t
	}
	switch state {
	case "COMPLETED":
		st.Phase, st.Percent = provider.PhaseSucceeded, 100
	case "FAILED":
		st.Phase, st.Percent, st.Message = provider.PhaseFailed, 100, "the backup ended FAILED"
	default:
		st.Phase = provider.PhaseRunning
	}
	return st
}

// Describe returns the final record of op's backup from b, its backup-list
// entry (nil: not listed), and err, the error of listing it. summary fills in
// what the entry says; Record is the entry as JSON.
func Describe[B any](providerName string, op provider.Operation, b *B, err error, summary func(*B) backup.Backup) (backup.Backup, error) {
	if err != nil {
		return backup.Backup{}, err
	}
	if b == nil {
		return backup.Backup{}, &provider.Error{Class: provider.NotFound, Provider: providerName,
			Message: fmt.Sprintf("backup %s is not in the backup list of instance %s", op.BackupID, op.Resource)}
	}
	rec, err := json.Marshal(b)
	if err != nil {
		return backup.Backup{}, Errorf(providerName, provider.Internal, "encode backup record: %v", err)
	}
	out := summary(b)
	out.Record = rec
	return out, nil
}
