package huaweicloudsim_test

import "reflect"

// reflectValue wraps a query value the way the SDK stores query parameters.
func reflectValue(v string) reflect.Value { return reflect.ValueOf(v) }
