// Package apigw posts frames to WebSocket connections through API
// Gateway's management API (PostToConnection).
package apigw

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi/types"

	"github.com/parley-inbox/parley/shared/inbox"
)

// ConnectionsAPI is the part of the management API client used here.
type ConnectionsAPI interface {
	PostToConnection(context.Context, *apigatewaymanagementapi.PostToConnectionInput, ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.PostToConnectionOutput, error)
	DeleteConnection(context.Context, *apigatewaymanagementapi.DeleteConnectionInput, ...func(*apigatewaymanagementapi.Options)) (*apigatewaymanagementapi.DeleteConnectionOutput, error)
}

// Connections is a WebSocket API stage's connections.
type Connections struct {
	Client ConnectionsAPI
}

var _ inbox.Poster = Connections{}

// Post sends one frame; inbox.ErrGone when API Gateway says the client
// has left (410 GoneException).
func (c Connections) Post(ctx context.Context, connectionID string, frame []byte) error {
	_, err := c.Client.PostToConnection(ctx, &apigatewaymanagementapi.PostToConnectionInput{ConnectionId: &connectionID, Data: frame})
	var gone *types.GoneException
	if errors.As(err, &gone) {
		return inbox.ErrGone
	}
	if err != nil {
		return fmt.Errorf("post to connection: %w", err)
	}
	return nil
}

// Close disconnects a client, which then sees its socket close.
func (c Connections) Close(ctx context.Context, connectionID string) error {
	_, err := c.Client.DeleteConnection(ctx, &apigatewaymanagementapi.DeleteConnectionInput{ConnectionId: &connectionID})
	var gone *types.GoneException
	if err != nil && !errors.As(err, &gone) {
		return fmt.Errorf("delete connection: %w", err)
	}
	return nil
}
