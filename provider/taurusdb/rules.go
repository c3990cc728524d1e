package taurusdb

import (
	"encoding/json"
	"fmt"
	"regexp"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/provider"
	"github.com/backupflow/backupflow/provider/huaweicloud"
)

// The request constraints of the create API (docs/providers/taurusdb.md,
// "Request constraints the driver enforces"), all checked by parse before
// any call; the name and description rules TaurusDB shares with OTC RDS are
// huaweicloud's (provider/huaweicloud/rules.go).

// Field names in errors: "taurusdb.<json field>".
const (
	fieldInstanceID = name + ".instance_id"
	fieldLanguage   = name + ".X-Language"
)

// instanceIDRule is the documented instance ID: 36 letters and digits ending in07.
var instanceIDRule = regexp.MustCompile(`^[A-Za-z0-9]{32}in07$`)

// nameUniqueRule is the create API's rule for backup names.
const nameUniqueRule = "backup names are unique per instance"

// parse decodes the section strictly and enforces every documented rule of
// the create API (docs/providers/taurusdb.md).
func parse(kind backup.Kind, raw json.RawMessage) (backup.TaurusDBCreate, error) {
	var s backup.TaurusDBCreate
	if err := huaweicloud.DecodeCreate(name, kind, raw, &s,
		fmt.Sprintf("TaurusDB has no per-backup %s API (only a cross-region backup policy)", kind)); err != nil {
		return s, err
	}
	switch {
	case s.InstanceID == "":
		return s, provider.Invalid(fieldInstanceID, "is required: 36 letters and digits ending in07")
	case len(s.InstanceID) != 36:
		return s, provider.Invalid(fieldInstanceID, "%q is %d characters long; an instance ID is 36 letters and digits ending in07", s.InstanceID, len(s.InstanceID))
	case !instanceIDRule.MatchString(s.InstanceID):
		return s, provider.Invalid(fieldInstanceID, "%q: an instance ID is 36 letters and digits ending in07", s.InstanceID)
	}
	if err := huaweicloud.ValidateNameAndDescription(name, s.Name, s.Description); err != nil {
		return s, err
	}
	if err := huaweicloud.ValidateLanguage(fieldLanguage, s.Language); err != nil {
		return s, err
	}
	return s, nil
}

// validate is the driver's registered, config-free validation: parse, and
// the instance and backup name as the target.
var validate = huaweicloud.Validate(parse, func(s backup.TaurusDBCreate) (string, string) { return s.InstanceID, s.Name })
