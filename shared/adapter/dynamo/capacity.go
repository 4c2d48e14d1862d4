package dynamo

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Meter adds up the capacity units of the DynamoDB calls made with a
// context carrying it. make bench uses it to price each API operation.
type Meter struct {
	mu    sync.Mutex
	Read  float64
	Write float64
	Calls int
}

type meterKey struct{}

// WithMeter returns a context whose DynamoDB calls are metered into m.
func WithMeter(ctx context.Context, m *Meter) context.Context {
	return context.WithValue(ctx, meterKey{}, m)
}

func meterFrom(ctx context.Context) *Meter {
	m, _ := ctx.Value(meterKey{}).(*Meter)
	return m
}

// capacityMode asks DynamoDB to report capacity only when someone is metering.
func capacityMode(ctx context.Context) types.ReturnConsumedCapacity {
	if meterFrom(ctx) == nil {
		return types.ReturnConsumedCapacityNone
	}
	return types.ReturnConsumedCapacityIndexes
}

// Reads and writes are told apart by the call, not by the response:
// DynamoDB Local, like DynamoDB for most calls, reports only CapacityUnits.
type usage int

const (
	reading usage = iota
	writing
)

// record adds one call's consumed capacity to the context's meter.
func record(ctx context.Context, u usage, cc *types.ConsumedCapacity) {
	if cc != nil {
		recordAll(ctx, u, []types.ConsumedCapacity{*cc})
	}
}

// recordAll adds a call's capacity, table and indexes, to the context's meter.
func recordAll(ctx context.Context, u usage, ccs []types.ConsumedCapacity) {
	m := meterFrom(ctx)
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Calls++
	for _, cc := range ccs {
		units := aws.ToFloat64(cc.CapacityUnits)
		if u == writing {
			m.Write += units
		} else {
			m.Read += units
		}
	}
}
