package huaweicloud

import (
	"errors"
	"fmt"
	"regexp"

	"github.com/backupflow/backupflow/provider"
)

// ConfigErrors collects what is wrong with a driver's configuration, each
// error naming its environment variable, and holds the checks both drivers'
// settings share.
type ConfigErrors struct{ errs []error }

// Add reports variable name as wrong.
func (c *ConfigErrors) Add(name, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

// Err joins everything reported; nil when nothing was.
func (c *ConfigErrors) Err() error { return errors.Join(c.errs...) }

// Endpoint checks variable name by provider.CheckEndpoint, the rule of every
// driver (insecureVar is the driver's BACKUPFLOW_<P>_INSECURE), and returns
// the URL the SDK takes ("" when wrong or not given). An empty value is
// reported as missing.
func (c *ConfigErrors) Endpoint(name, insecureVar, v string, insecure bool) string {
	if v == "" && !insecure {
		c.Add(name, "is required")
		return ""
	}
	ep, err := provider.CheckEndpoint(name, insecureVar, v, insecure)
	if err != nil {
		c.errs = append(c.errs, err)
		return ""
	}
	return ep.URL()
}

var projectIDRule = regexp.MustCompile(`^[A-Za-z0-9]{32}$`)

// CheckProjectID requires variable name to be a project ID: always given, so
// the SDK never calls IAM to look it up.
func (c *ConfigErrors) CheckProjectID(name, v string) {
	if v == "" {
		c.Add(name, "is required")
	} else if !projectIDRule.MatchString(v) {
		c.Add(name, "must be 32 letters and digits")
	}
}

// Secret returns the secret given in variable name or in the file that
// name_FILE points to; exactly one must be set. when says which setting
// requires it ("" for always).
func (c *ConfigErrors) Secret(name string, direct, fromFile provider.Secret, when string) string {
	if direct != "" && fromFile != "" {
		c.Add(name, "and %s_FILE are both set; set one", name)
	}
	s := provider.SecretFrom(direct, fromFile)
	if s == "" {
		required := "is required"
		if when != "" {
			required += " with " + when
		}
		c.Add(name, "%s (or %s_FILE)", required, name)
	}
	return s.Reveal()
}
