package backup

// Typed provider sections. Field names and JSON keys mirror each provider's
// API documentation so a request reads like the provider's own call. The
// drivers enforce every documented rule on them before calling a provider.
// Each provider's name and section types are declared in its own
// section_<provider>.go.

import "slices"

type sectionKey struct {
	provider string
	kind     Kind
}

// sectionTypes holds each provider's section types, by provider and kind.
var sectionTypes = map[sectionKey]func() Section{}

// registerSection declares a provider's section type for one kind; a second
// declaration is a programming error.
func registerSection(provider string, kind Kind, newSection func() Section) {
	k := sectionKey{provider, kind}
	if _, dup := sectionTypes[k]; dup {
		panic("backup: section of " + provider + "/" + string(kind) + " declared twice")
	}
	sectionTypes[k] = newSection
}

// HasSection reports whether provider has a request section of kind (a
// copy section exactly when the provider has a copy API).
func HasSection(provider string, kind Kind) bool {
	_, ok := sectionTypes[sectionKey{provider, kind}]
	return ok
}

// IsProvider reports whether name is a provider with a request section. It
// only looks keys up, so workflow code may call it.
func IsProvider(name string) bool {
	return HasSection(name, KindCreate) || HasSection(name, KindCopy)
}

// Providers lists, sorted, the clouds the contract has request sections for:
// the names to offer users. The in-process memory provider is left out; it
// is for tests and experiments, and IsProvider still accepts it.
func Providers() []string {
	var names []string
	for k := range sectionTypes {
		if k.provider != ProviderMemory && !slices.Contains(names, k.provider) {
			names = append(names, k.provider)
		}
	}
	slices.Sort(names)
	return names
}
