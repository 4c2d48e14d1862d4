package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/parley-inbox/parley/shared/auth"
	"github.com/parley-inbox/parley/shared/config"
)

var machineContext = map[string]any{
	"authDomainPrefix": "parley-test-1",
	"machineClients":   `[{"name":"crm","workspace":"ws1","scopes":["messages.write","conversations.read"]},{"name":"agentbot","displayName":"Agent bot","workspace":"ws2","scopes":["messages.write"]}]`,
}

// resolveJoin renders an Fn::Join of strings and Refs, each Ref as ref(id).
func resolveJoin(t *testing.T, v any, ref func(string) string) string {
	t.Helper()
	switch v := v.(type) {
	case string:
		return v
	case map[string]any:
		if id, ok := v["Ref"].(string); ok {
			return ref(id)
		}
		if join, ok := v["Fn::Join"].([]any); ok && len(join) == 2 {
			out := ""
			for i, part := range join[1].([]any) {
				if i > 0 {
					out += join[0].(string)
				}
				out += resolveJoin(t, part, ref)
			}
			return out
		}
	}
	t.Fatalf("cannot resolve %v", v)
	return ""
}

func TestResourceServerHasTheAPIScopes(t *testing.T) {
	for _, context := range []map[string]any{nil, machineContext} {
		template := synthTemplate(t, context)
		_, rs := template.onlyResourceOfType(t, "AWS::Cognito::UserPoolResourceServer")
		var props struct {
			Identifier string
			Scopes     []struct{ ScopeName, ScopeDescription string }
		}
		decodeProperties(t, rs, &props)
		assertEqual(t, "resource server identifier", props.Identifier, auth.ResourceServer)
		var got, want []string
		for _, s := range props.Scopes {
			got = append(got, s.ScopeName)
		}
		for _, s := range auth.Scopes {
			want = append(want, s.Name)
		}
		assertEqual(t, "resource server scopes", got, want)
	}
}

func TestNoMachineClientsByDefault(t *testing.T) {
	template := synthTemplate(t, nil)
	if n := len(template.resourcesOfType("AWS::Cognito::UserPoolDomain")); n != 0 {
		t.Errorf("%d user pool domains without authDomainPrefix, want none", n)
	}
	_, fn := template.resourceWithPrefix(t, "AWS::Lambda::Function", "ApiFunction")
	var props functionProperties
	decodeProperties(t, fn, &props)
	if v, ok := props.Environment.Variables[config.EnvMachineClients]; ok {
		t.Errorf("%s = %v without machine clients, want it unset", config.EnvMachineClients, v)
	}
}

func TestMachineClients(t *testing.T) {
	template := synthTemplate(t, machineContext)
	rsID, _ := template.onlyResourceOfType(t, "AWS::Cognito::UserPoolResourceServer")
	poolID, _ := template.onlyResourceOfType(t, "AWS::Cognito::UserPool")

	_, domain := template.onlyResourceOfType(t, "AWS::Cognito::UserPoolDomain")
	var domainProps struct {
		Domain     string
		UserPoolId any
	}
	decodeProperties(t, domain, &domainProps)
	assertEqual(t, "domain prefix", domainProps.Domain, "parley-test-1")
	assertEqual(t, "domain's pool", domainProps.UserPoolId, any(map[string]any{"Ref": poolID}))

	type clientProps struct {
		ClientName                      string
		GenerateSecret                  bool
		AllowedOAuthFlows               []string
		AllowedOAuthFlowsUserPoolClient bool
		AllowedOAuthScopes              []any
		ExplicitAuthFlows               []string
		CallbackURLs                    []string
		AccessTokenValidity             float64
		TokenValidityUnits              struct{ AccessToken string }
	}
	ids := map[string]string{}
	for name, scopes := range map[string][]string{"crm": {"messages.write", "conversations.read"}, "agentbot": {"messages.write"}} {
		id, client := template.resourceWithPrefix(t, "AWS::Cognito::UserPoolClient", "UserPoolMachineClient"+name)
		ids[name] = id
		var props clientProps
		decodeProperties(t, client, &props)
		assertEqual(t, name+" name", props.ClientName, "parley-machine-"+name)
		assertEqual(t, name+" has a secret", props.GenerateSecret, true)
		assertEqual(t, name+" OAuth flows: client credentials only", props.AllowedOAuthFlows, []string{"client_credentials"})
		assertEqual(t, name+" OAuth enabled", props.AllowedOAuthFlowsUserPoolClient, true)
		// No sign-in flow: refresh tokens only, which client credentials never get.
		assertEqual(t, name+" auth flows", props.ExplicitAuthFlows, []string{"ALLOW_REFRESH_TOKEN_AUTH"})
		assertEqual(t, name+" callback URLs", props.CallbackURLs, []string(nil))
		assertEqual(t, name+" access token validity", fmt.Sprint(props.AccessTokenValidity, props.TokenValidityUnits.AccessToken), "60minutes")
		var got []string
		for _, s := range props.AllowedOAuthScopes {
			got = append(got, resolveJoin(t, s, func(id string) string {
				if id != rsID {
					t.Errorf("%s: a scope refers to %s, not the resource server", name, id)
				}
				return auth.ResourceServer
			}))
		}
		var want []string
		for _, s := range scopes {
			want = append(want, auth.FullScope(s))
		}
		assertEqual(t, name+" scopes", got, want)
	}

	// The authorizer accepts the SPA's ID tokens and each client's access tokens.
	apiID, _ := template.httpAPI(t)
	var authorizer struct{ JwtConfiguration struct{ Audience []any } }
	for _, r := range template.apiResources(t, "AWS::ApiGatewayV2::Authorizer", apiID) {
		decodeProperties(t, r, &authorizer)
	}
	spaID, _ := template.resourceWithPrefix(t, "AWS::Cognito::UserPoolClient", "UserPoolSpaClient")
	wantAudience := []any{map[string]any{"Ref": spaID}}
	for _, name := range []string{"crm", "agentbot"} {
		wantAudience = append(wantAudience, map[string]any{"Ref": ids[name]})
	}
	assertEqual(t, "JWT audience", authorizer.JwtConfiguration.Audience, wantAudience)

	// The api reads the workspaces and names back with the same parser.
	_, fn := template.resourceWithPrefix(t, "AWS::Lambda::Function", "ApiFunction")
	var fnProps functionProperties
	decodeProperties(t, fn, &fnProps)
	raw := resolveJoin(t, fnProps.Environment.Variables[config.EnvMachineClients], func(id string) string { return "id-of-" + id })
	clients, err := config.ParseMachineClients(raw)
	want := []config.MachineClient{
		{ClientID: "id-of-" + ids["crm"], Workspace: "ws1", Name: "crm"},
		{ClientID: "id-of-" + ids["agentbot"], Workspace: "ws2", Name: "Agent bot"},
	}
	if err != nil {
		t.Fatalf("%s = %s: %v", config.EnvMachineClients, raw, err)
	}
	assertEqual(t, config.EnvMachineClients, clients, want)

	// Outputs: each client's id and the token endpoint.
	for name, id := range map[string]string{"MachineClientcrmId": ids["crm"], "MachineClientagentbotId": ids["agentbot"]} {
		assertEqual(t, name, template.Outputs[name].Value, any(map[string]any{"Ref": id}))
	}
	tokenURL, _ := json.Marshal(template.Outputs["AuthTokenUrl"].Value)
	if !strings.Contains(string(tokenURL), `"https://",{"Ref":"`) || !strings.Contains(string(tokenURL), "/oauth2/token") {
		t.Errorf("AuthTokenUrl = %s, want https://<domain>.auth.<region>.amazoncognito.com/oauth2/token", tokenURL)
	}
}

func TestBadMachineClientsFailTheSynth(t *testing.T) {
	for name, context := range map[string]map[string]any{
		"no domain":     {"machineClients": `[{"name":"crm","workspace":"ws1","scopes":["messages.write"]}]`},
		"unknown scope": {"authDomainPrefix": "p1", "machineClients": `[{"name":"crm","workspace":"ws1","scopes":["workspace.admin"]}]`},
		"no scope":      {"authDomainPrefix": "p1", "machineClients": `[{"name":"crm","workspace":"ws1","scopes":[]}]`},
		"no workspace":  {"authDomainPrefix": "p1", "machineClients": `[{"name":"crm","scopes":["messages.write"]}]`},
		"bad name":      {"authDomainPrefix": "p1", "machineClients": `[{"name":"crm bot","workspace":"ws1","scopes":["messages.write"]}]`},
		"twice":         {"authDomainPrefix": "p1", "machineClients": `[{"name":"crm","workspace":"ws1","scopes":["messages.write"]},{"name":"CRM","workspace":"ws2","scopes":["messages.write"]}]`},
		"unknown field": {"authDomainPrefix": "p1", "machineClients": `[{"name":"crm","workspace":"ws1","scopes":["messages.write"],"admin":true}]`},
		"bad prefix":    {"authDomainPrefix": "Not_A_Prefix"},
	} {
		stack := synthStack(t, context)
		messages := assertions.Annotations_FromStack(stack).FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("machineClients|authDomainPrefix")))
		if len(*messages) == 0 {
			t.Errorf("%s: got no synth error, want one naming machineClients or authDomainPrefix", name)
		}
	}
}
