// Package statemachines holds Parley's Step Functions definitions: the
// CDK stack deploys them and make dev runs them on the local executor.
package statemachines

import _ "embed"

var (
	//go:embed drip.asl.json
	Drip []byte
	//go:embed automation.asl.json
	Automation []byte
)

// FunctionPlaceholder is the DefinitionSubstitutions key the Task states'
// FunctionName uses.
const FunctionPlaceholder = "SequencesFunctionArn"
