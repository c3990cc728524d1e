package spanner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	database "cloud.google.com/go/spanner/admin/database/apiv1"
	"golang.org/x/oauth2"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/backupflow/backupflow/provider"
)

// Config is the driver's environment (caarlos0/env/v11 tags).
//
// Credentials, in order of precedence:
//   - BACKUPFLOW_SPANNER_ACCESS_TOKEN (or ..._ACCESS_TOKEN_FILE): a static
//     OAuth2 access token. Over TLS it goes through the SDK's own
//     option.WithTokenSource(oauth2.StaticTokenSource). With
//     BACKUPFLOW_SPANNER_INSECURE=true (the simulator) the SDK's auth is turned
//     off (option.WithoutAuthentication) and the token is attached by a small
//     grpc PerRPCCredentials whose RequireTransportSecurity is false, because
//     grpc refuses to send transport-security-requiring credentials over a
//     plaintext connection. Insecure mode is only accepted for loopback endpoints.
//   - BACKUPFLOW_SPANNER_CREDENTIALS_FILE: a service-account key file.
//   - otherwise Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS,
//     gcloud, metadata server); in insecure mode, no credentials at all.
//
// The endpoint follows provider.CheckEndpoint like every driver's. There is no
// redirect to refuse: gRPC has none, so credentials only ever go to Endpoint.
type Config struct {
	// Endpoint overrides spanner.googleapis.com:443: host[:port] or
	// https://host[:port], e.g. a simulator's 127.0.0.1:PORT.
	Endpoint string `env:"BACKUPFLOW_SPANNER_ENDPOINT"`
	// Insecure dials Endpoint in plaintext (a loopback simulator only).
	Insecure bool `env:"BACKUPFLOW_SPANNER_INSECURE"`
	// CallTimeout bounds each RPC, so a connection that never answers fails
	// the call instead of holding the activity to its own timeout (0: 30 s).
	CallTimeout time.Duration `env:"BACKUPFLOW_SPANNER_CALL_TIMEOUT" envDefault:"30s"`
	// CredentialsFile is a service-account key file (JSON).
	CredentialsFile string `env:"BACKUPFLOW_SPANNER_CREDENTIALS_FILE"`
	// AccessToken is a static OAuth2 access token.
	AccessToken     provider.Secret `env:"BACKUPFLOW_SPANNER_ACCESS_TOKEN"`
	AccessTokenFile provider.Secret `env:"BACKUPFLOW_SPANNER_ACCESS_TOKEN_FILE,file"`
}

// check reports every missing or malformed setting, naming its variable.
func (c Config) check() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	if _, err := c.endpoint(); err != nil {
		errs = append(errs, err)
	}
	if c.CallTimeout < 0 {
		bad("BACKUPFLOW_SPANNER_CALL_TIMEOUT", "must not be negative")
	}
	if c.AccessToken != "" && c.AccessTokenFile != "" {
		bad("BACKUPFLOW_SPANNER_ACCESS_TOKEN", "and BACKUPFLOW_SPANNER_ACCESS_TOKEN_FILE are both set; set one")
	}
	token := provider.SecretFrom(c.AccessToken, c.AccessTokenFile)
	if c.CredentialsFile != "" {
		if token != "" {
			bad("BACKUPFLOW_SPANNER_CREDENTIALS_FILE", "and BACKUPFLOW_SPANNER_ACCESS_TOKEN are both set; set one")
		}
		if c.Insecure {
			bad("BACKUPFLOW_SPANNER_CREDENTIALS_FILE", "cannot be used with BACKUPFLOW_SPANNER_INSECURE=true; use BACKUPFLOW_SPANNER_ACCESS_TOKEN")
		}
		if _, err := os.Stat(c.CredentialsFile); err != nil {
			bad("BACKUPFLOW_SPANNER_CREDENTIALS_FILE", "cannot read %q: %v", c.CredentialsFile, err)
		}
	}
	return errors.Join(errs...)
}

// clientOptions turns the config into SDK client options.
func (c Config) clientOptions() []option.ClientOption {
	var opts []option.ClientOption
	token := provider.SecretFrom(c.AccessToken, c.AccessTokenFile)
	if ep, _ := c.endpoint(); !ep.IsZero() {
		opts = append(opts, option.WithEndpoint(ep.HostPort()))
	}
	timeout := c.CallTimeout
	if timeout == 0 {
		timeout = defaultCallTimeout
	}
	opts = append(opts, option.WithGRPCDialOption(grpc.WithChainUnaryInterceptor(callTimeout(timeout))))
	switch {
	case c.Insecure:
		opts = append(opts,
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
			option.WithoutAuthentication())
		if token != "" {
			opts = append(opts, option.WithGRPCDialOption(grpc.WithPerRPCCredentials(bearer{token})))
		}
	case token != "":
		opts = append(opts, option.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: token.Reveal(), TokenType: "Bearer"})))
	case c.CredentialsFile != "":
		opts = append(opts, option.WithAuthCredentialsFile(option.ServiceAccount, c.CredentialsFile))
	}
	return opts
}

// endpoint checks Endpoint and Insecure by the one rule of every driver.
func (c Config) endpoint() (provider.Endpoint, error) {
	return provider.CheckEndpoint("BACKUPFLOW_SPANNER_ENDPOINT", "BACKUPFLOW_SPANNER_INSECURE", c.Endpoint, c.Insecure)
}

const defaultCallTimeout = 30 * time.Second

// callTimeout bounds every unary RPC (all the admin calls the driver makes).
func callTimeout(d time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		ctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// bearer attaches a static access token to every call over a plaintext
// loopback connection (see Config).
type bearer struct{ token provider.Secret }

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token.Reveal()}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// New builds a driver from cfg. The connection is made lazily, but
// credentials are resolved now, so missing credentials fail here.
func New(cfg Config) (*Driver, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	client, err := database.NewDatabaseAdminClient(context.Background(), cfg.clientOptions()...)
	if err != nil {
		hint := "Application Default Credentials"
		switch {
		case cfg.CredentialsFile != "":
			hint = "BACKUPFLOW_SPANNER_CREDENTIALS_FILE"
		case cfg.AccessToken != "" || cfg.AccessTokenFile != "":
			hint = "BACKUPFLOW_SPANNER_ACCESS_TOKEN"
		case cfg.Endpoint != "":
			hint = "BACKUPFLOW_SPANNER_ENDPOINT"
		}
		return nil, fmt.Errorf("spanner: cannot create the Database Admin client (check %s): %w", hint, err)
	}
	return &Driver{client: client, now: time.Now}, nil
}
