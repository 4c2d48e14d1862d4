// Package config reads Parley's configuration from the environment, once,
// at cold start.
package config

import (
	"fmt"
	"os"
)

// Lambda is what the deployed functions need; infra/ sets these variables.
type Lambda struct {
	TableName       string
	CursorSecretARN string
}

// FromEnv reads the Lambda configuration and names what is missing.
func FromEnv() (Lambda, error) {
	c := Lambda{TableName: os.Getenv("TABLE_NAME"), CursorSecretARN: os.Getenv("CURSOR_SECRET_ARN")}
	for name, v := range map[string]string{"TABLE_NAME": c.TableName, "CURSOR_SECRET_ARN": c.CursorSecretARN} {
		if v == "" {
			return c, fmt.Errorf("environment variable %s is not set", name)
		}
	}
	return c, nil
}

// Local configures the single-process development stack (make dev).
type Local struct {
	// Addr is where the API listens.
	Addr string
	// DataDir holds DynamoDB Local's files and the development signing key.
	DataDir string
	// DynamoDBEndpoint reuses a running DynamoDB Local instead of starting one.
	DynamoDBEndpoint string
	// DynamoDBPort is the port of the DynamoDB Local that make dev starts.
	DynamoDBPort string
	// InMemory keeps DynamoDB Local's data in memory (tests).
	InMemory  bool
	TableName string
}

// LocalFromEnv reads the PARLEY_* variables, with make dev's defaults.
func LocalFromEnv() Local {
	return Local{
		Addr:             envOr("PARLEY_ADDR", "127.0.0.1:8080"),
		DataDir:          envOr("PARLEY_DATA_DIR", ".local"),
		DynamoDBEndpoint: os.Getenv("PARLEY_DYNAMODB_ENDPOINT"),
		DynamoDBPort:     envOr("PARLEY_DYNAMODB_PORT", "8000"),
		InMemory:         os.Getenv("PARLEY_IN_MEMORY") == "1",
		TableName:        envOr("PARLEY_TABLE", "parley"),
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
