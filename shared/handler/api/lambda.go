package api

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// LambdaHandler serves the API from API Gateway HTTP API events (payload
// format 2.0). The adapter keeps the request context, where auth.APIGateway
// finds the JWT authorizer's claims.
func (a *API) LambdaHandler() func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	return httpadapter.NewV2(a).ProxyWithContext
}
