// Package searchattr registers backupflow's search attributes and checks
// whether a namespace has them.
package searchattr

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/backupflow/backupflow/backup"
	"github.com/backupflow/backupflow/plan"
)

// Names lists every search attribute backupflow uses, all Keyword: the
// backup workflows' and the plans'. Registration and the deployment
// manifests (checked by deploy's tests) follow it; the Checker asks only for
// the backup workflows' (backup.SearchAttributeNames), the ones it gates.
var Names = append(slices.Clone(backup.SearchAttributeNames), plan.SearchAttributePlan, plan.SearchAttributeRPO)

// Register adds the search attributes to namespace; existing ones are kept.
func Register(ctx context.Context, c client.Client, namespace string) error {
	attrs := map[string]enumspb.IndexedValueType{}
	for _, n := range Names {
		attrs[n] = enumspb.INDEXED_VALUE_TYPE_KEYWORD
	}
	existing, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
	if err != nil {
		return fmt.Errorf("list search attributes of %s: %w", namespace, err)
	}
	for n := range existing.GetCustomAttributes() {
		delete(attrs, n)
	}
	if len(attrs) == 0 {
		return nil
	}
	_, err = c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{Namespace: namespace, SearchAttributes: attrs})
	if err != nil {
		return fmt.Errorf("add search attributes to %s: %w", namespace, err)
	}
	return nil
}

// Checker answers whether the namespace has every search attribute the
// backup workflows set (backup.SearchAttributeNames). A positive answer is
// kept for the life of the process; a negative one is re-checked at most
// once a minute (so registering them later takes effect without a restart)
// and is warned about once.
type Checker struct {
	Client    client.Client
	Namespace string
	Logger    *slog.Logger

	mu         sync.Mutex
	registered bool
	checkedAt  time.Time
	warned     bool
}

func (c *Checker) SearchAttributesRegistered(ctx context.Context) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.registered || time.Since(c.checkedAt) < time.Minute {
		return c.registered
	}
	c.checkedAt = time.Now()
	missing, err := c.missing(ctx)
	if err == nil && missing == "" {
		c.registered = true
		return true
	}
	if !c.warned {
		c.warned = true
		if err != nil {
			c.Logger.Warn("cannot list search attributes; backups run without them", "namespace", c.Namespace, "error", err)
		} else {
			c.Logger.Warn("search attribute not registered; backups run without search attributes until it is. "+
				"Register with: temporal operator search-attribute create --name "+missing+" --type Keyword",
				"namespace", c.Namespace, "missing", missing)
		}
	}
	return false
}

func (c *Checker) missing(ctx context.Context) (string, error) {
	resp, err := c.Client.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: c.Namespace})
	if err != nil {
		return "", err
	}
	for _, n := range backup.SearchAttributeNames {
		if _, ok := resp.GetCustomAttributes()[n]; !ok {
			return n, nil
		}
	}
	return "", nil
}
