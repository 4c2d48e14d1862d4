package main

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/parley-inbox/parley/shared/auth"
	"github.com/parley-inbox/parley/shared/config"
)

// Context keys of machine clients: the clients, as JSON, and the prefix of
// the user pool's Cognito domain, which serves their token endpoint.
const (
	machineClientsContextKey   = "machineClients"
	authDomainPrefixContextKey = "authDomainPrefix"
)

// machineClientSpec is one entry of -c machineClients='[...]'.
type machineClientSpec struct {
	// Name names the app client and its output (MachineClient<Name>Id).
	Name string `json:"name"`
	// DisplayName is what its messages show as their author; default Name.
	DisplayName string   `json:"displayName"`
	Workspace   string   `json:"workspace"`
	Scopes      []string `json:"scopes"`
}

var (
	machineClientName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]{0,39}$`)
	// A Cognito domain prefix: lowercase letters, digits and hyphens.
	authDomainPrefixPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)
)

// machineAccess is what lets integrations and bots call the API with the
// client-credentials grant: the resource server whose scopes they are
// granted, the domain of the token endpoint, and one app client each.
type machineAccess struct {
	resourceServer awscognito.UserPoolResourceServer
	domain         awscognito.UserPoolDomain // nil without authDomainPrefix
	clients        []machineClient
}

type machineClient struct {
	spec   machineClientSpec
	client awscognito.UserPoolClient
}

// newMachineAccess adds the resource server always (its scopes cost
// nothing and document themselves), the domain when authDomainPrefix is
// set, and the clients machineClients lists, which need the domain.
func newMachineAccess(stack awscdk.Stack, userPool awscognito.UserPool) *machineAccess {
	scopes := map[string]awscognito.ResourceServerScope{}
	var all []awscognito.ResourceServerScope
	for _, s := range auth.Scopes {
		scope := awscognito.NewResourceServerScope(&awscognito.ResourceServerScopeProps{
			ScopeName: jsii.String(s.Name), ScopeDescription: jsii.String(s.Description)})
		scopes[s.Name] = scope
		all = append(all, scope)
	}
	m := &machineAccess{resourceServer: userPool.AddResourceServer(jsii.String("ApiResourceServer"), &awscognito.UserPoolResourceServerOptions{
		Identifier:                 jsii.String(auth.ResourceServer),
		UserPoolResourceServerName: jsii.String("Parley API"),
		Scopes:                     &all,
	})}

	prefix, _ := stack.Node().TryGetContext(jsii.String(authDomainPrefixContextKey)).(string)
	if prefix != "" && !authDomainPrefixPattern.MatchString(prefix) {
		awscdk.Annotations_Of(stack).AddError(jsii.String(fmt.Sprintf("context %s must match %s", authDomainPrefixContextKey, authDomainPrefixPattern)))
		prefix = ""
	}
	if prefix != "" {
		m.domain = userPool.AddDomain(jsii.String("AuthDomain"), &awscognito.UserPoolDomainOptions{
			CognitoDomain: &awscognito.CognitoDomainOptions{DomainPrefix: jsii.String(prefix)},
		})
	}

	specs, err := machineClientSpecs(stack)
	if err == nil && len(specs) > 0 && m.domain == nil {
		err = fmt.Errorf("machine clients need the token endpoint's domain: set -c %s=<unique prefix>", authDomainPrefixContextKey)
	}
	if err != nil {
		awscdk.Annotations_Of(stack).AddError(jsii.String(err.Error()))
		return m
	}
	for _, spec := range specs {
		granted := make([]awscognito.OAuthScope, len(spec.Scopes))
		for i, s := range spec.Scopes {
			granted[i] = awscognito.OAuthScope_ResourceServer(m.resourceServer, scopes[s])
		}
		client := userPool.AddClient(jsii.String("MachineClient"+spec.Name), &awscognito.UserPoolClientOptions{
			UserPoolClientName: jsii.String("parley-machine-" + spec.Name),
			// A server keeps the secret; the token endpoint takes it.
			GenerateSecret: jsii.Bool(true),
			// No sign-in flows: CDK then lists only ALLOW_REFRESH_TOKEN_AUTH,
			// and client credentials never issue refresh tokens. Left
			// unset, Cognito would allow SRP and custom auth.
			AuthFlows: &awscognito.AuthFlow{UserSrp: jsii.Bool(false)},
			OAuth: &awscognito.OAuthSettings{
				Flows:  &awscognito.OAuthFlows{ClientCredentials: jsii.Bool(true)},
				Scopes: &granted,
			},
			AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(1)),
			PreventUserExistenceErrors: jsii.Bool(true),
		})
		m.clients = append(m.clients, machineClient{spec: spec, client: client})
	}
	return m
}

// machineClientSpecs reads and checks machineClients: a JSON string from
// -c, or a list from cdk.json.
func machineClientSpecs(scope constructs.Construct) ([]machineClientSpec, error) {
	raw := scope.Node().TryGetContext(jsii.String(machineClientsContextKey))
	if raw == nil {
		return nil, nil
	}
	text, ok := raw.(string)
	if !ok {
		b, err := json.Marshal(raw)
		if err != nil {
			return nil, err
		}
		text = string(b)
	}
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("context %s: "+format, append([]any{machineClientsContextKey}, args...)...)
	}
	var specs []machineClientSpec
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&specs); err != nil {
		return nil, bad(`want a JSON list of {"name", "workspace", "scopes", "displayName"}: %v`, err)
	}
	seen := map[string]bool{}
	for _, s := range specs {
		switch {
		case !machineClientName.MatchString(s.Name) || seen[strings.ToLower(s.Name)]:
			return nil, bad("each name must be unique and match %s, got %q", machineClientName, s.Name)
		case s.Workspace == "" || len(s.Workspace) > 64 || strings.Contains(s.Workspace, "#"):
			return nil, bad("client %s needs a workspace id (1 to 64 characters, no #)", s.Name)
		case len(s.Scopes) == 0:
			return nil, bad("client %s needs at least one scope", s.Name)
		}
		for _, scope := range s.Scopes {
			if !auth.KnownScope(scope) {
				return nil, bad("client %s: %q is not one of the API's scopes", s.Name, scope)
			}
		}
		seen[strings.ToLower(s.Name)] = true
	}
	return specs, nil
}

// clientIDs are the machine clients' ids, which the HTTP API's JWT
// authorizer must accept: it checks an access token's client_id against
// its audience.
func (m *machineAccess) clientIDs() []*string {
	ids := make([]*string, len(m.clients))
	for i, c := range m.clients {
		ids[i] = c.client.UserPoolClientId()
	}
	return ids
}

// addToAPI tells the api function which workspace each client acts in and
// its name (config.EnvMachineClients), which its tokens do not carry.
func (m *machineAccess) addToAPI(stack awscdk.Stack, fn awslambda.Function) {
	if len(m.clients) == 0 {
		return
	}
	list := make([]any, len(m.clients))
	for i, c := range m.clients {
		name := c.spec.DisplayName
		if name == "" {
			name = c.spec.Name
		}
		// The keys of config.MachineClient; a test reads the value back with
		// config.ParseMachineClients.
		list[i] = map[string]any{"clientId": c.client.UserPoolClientId(), "workspace": c.spec.Workspace, "name": name}
	}
	fn.AddEnvironment(jsii.String(config.EnvMachineClients), stack.ToJsonString(list, nil), nil)
}

// outputs are each client's id and the token endpoint; the secrets stay
// in Cognito (aws cognito-idp describe-user-pool-client).
func (m *machineAccess) outputs(stack awscdk.Stack) {
	if m.domain != nil {
		output(stack, "AuthTokenUrl", jsii.String(*m.domain.BaseUrl(nil)+"/oauth2/token"))
	}
	for _, c := range m.clients {
		output(stack, "MachineClient"+c.spec.Name+"Id", c.client.UserPoolClientId())
	}
}
