package stepfunctions_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/parley-inbox/parley/shared/dev/stepfunctions"
)

func TestLoadRejectsWhatItCannotRun(t *testing.T) {
	cases := []struct {
		name, def    string
		state, field string
	}{
		{"Map ResultWriter", mapDef(`"ResultWriter":{"Resource":"arn:aws:states:::s3:putObject"}`, distributed), "M", "ResultWriter"},
		{"Map Label", mapDef(`"Label":"run"`, distributed), "M", "Label"},
		{"Map Parameters", mapDef(`"Parameters":{}`, inline), "M", "Parameters"},
		{"Map Iterator", mapDef(`"Iterator":{}`, inline), "M", "Iterator"},
		{"Map ToleratedFailurePercentagePath", mapDef(`"ToleratedFailurePercentagePath":"$.p"`, distributed), "M", "ToleratedFailurePercentagePath"},
		{"Map MaxConcurrencyPath", mapDef(`"MaxConcurrencyPath":"$.c"`, inline), "M", "MaxConcurrencyPath"},
		{"Map CSV reader", mapDef(`"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"CSV"},"Parameters":{"Bucket":"b","Key":"k"}}`, distributed), "M", "ItemReader.ReaderConfig.InputType"},
		{"Map reader MaxItems", mapDef(`"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","ReaderConfig":{"InputType":"JSON","MaxItems":5},"Parameters":{"Bucket":"b","Key":"k"}}`, distributed), "M", "ItemReader.ReaderConfig.MaxItems"},
		{"Map listObjects reader", mapDef(`"ItemReader":{"Resource":"arn:aws:states:::s3:listObjectsV2","Parameters":{"Bucket":"b"}}`, distributed), "M", "ItemReader.Resource"},
		{"inline Map ItemReader", mapDef(`"ItemReader":{"Resource":"arn:aws:states:::s3:getObject","Parameters":{"Bucket":"b","Key":"k"}}`, inline), "M", "ItemReader"},
		{"inline Map ItemBatcher", mapDef(`"ItemBatcher":{"MaxItemsPerBatch":2}`, inline), "M", "ItemBatcher"},
		{"ItemBatcher MaxInputBytesPerBatch", mapDef(`"ItemBatcher":{"MaxInputBytesPerBatch":1024}`, distributed), "M", "ItemBatcher.MaxInputBytesPerBatch"},
		{"ItemBatcher without size", mapDef(`"ItemBatcher":{"BatchInput":{}}`, distributed), "M", "ItemBatcher.MaxItemsPerBatch"},
		{"EXPRESS child executions", `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"EXPRESS"},"StartAt":"X","States":{"X":{"Type":"Succeed"}}},"End":true}}}`, "M", "ItemProcessor.ProcessorConfig.ExecutionType"},
		{"unknown field in a Map's states", `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"X","States":{"X":{"Type":"Pass","Foo":1,"End":true}}},"End":true}}}`, "M", "ItemProcessor.States.X.Foo"},
		{"Map in a Map", `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"X","States":{"X":{"Type":"Map","ItemProcessor":{"StartAt":"Y","States":{"Y":{"Type":"Succeed"}}},"End":true}}},"End":true}}}`, "M", "ItemProcessor.States.X.Type"},
		{"callback task in a Map", `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":{"StartAt":"X","States":{"X":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"f","Payload":{"t.$":"$$.Task.Token"}},"End":true}}},"End":true}}}`, "M", "ItemProcessor.States.X.Resource"},
		{"Map item outside ItemSelector", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"v.$":"$$.Map.Item.Value"},"End":true}}}`, "A", "Parameters"},
		{"Map ItemsPath null", mapDef(`"ItemsPath":null`, inline), "M", "ItemsPath"},
		{"Map without ItemProcessor", `{"StartAt":"M","States":{"M":{"Type":"Map","End":true}}}`, "M", "ItemProcessor"},
		{"Parallel", `{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[],"End":true}}}`, "P", "Type"},
		{"unknown field", `{"StartAt":"A","States":{"A":{"Type":"Pass","Foo":1,"End":true}}}`, "A", "Foo"},
		{"unknown top-level field", `{"StartAt":"A","Version":"1.0","States":{"A":{"Type":"Succeed"}}}`, "", "Version"},
		{"missing Next target", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"}}}`, "A", "Next"},
		{"missing Catch target", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","Catch":[{"ErrorEquals":["States.ALL"],"Next":"Nope"}],"End":true}}}`, "A", "Catch[0].Next"},
		{"JSONata", `{"QueryLanguage":"JSONata","StartAt":"A","States":{"A":{"Type":"Succeed"}}}`, "", "QueryLanguage"},
		{"JSONata state", `{"StartAt":"A","States":{"A":{"Type":"Pass","QueryLanguage":"JSONata","End":true}}}`, "A", "QueryLanguage"},
		{"Arguments", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Arguments":{},"End":true}}}`, "A", "Arguments"},
		{"Assign", `{"StartAt":"A","States":{"A":{"Type":"Pass","Assign":{"x":1},"End":true}}}`, "A", "Assign"},
		{"intrinsic function", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"msg.$":"States.Format('hi {}', $.name)"},"End":true}}}`, "A", "Parameters"},
		{"unsupported context path", `{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"in.$":"$$.Execution.Input"},"End":true}}}`, "A", "Parameters"},
		{"unreachable state", `{"StartAt":"A","States":{"A":{"Type":"Succeed"},"B":{"Type":"Succeed"}}}`, "B", ""},
		{"no terminal state", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"B"},"B":{"Type":"Pass","Next":"A"}}}`, "", "States"},
		{"Next and End", `{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"A","End":true}}}`, "A", "Next"},
		{"unsupported choice operator", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","StringMatches":"a*","Next":"D"}],"Default":"D"},"D":{"Type":"Succeed"}}}`, "C", "Choices[0].StringMatches"},
		{"choice rule without Next", `{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.x","IsPresent":true}],"Default":"D"},"D":{"Type":"Succeed"}}}`, "C", "Choices[0].Next"},
		{"HeartbeatSeconds", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","HeartbeatSeconds":5,"End":true}}}`, "T", "HeartbeatSeconds"},
		{"other resource", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::sqs:sendMessage","End":true}}}`, "T", "Resource"},
		{"callback without token", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke.waitForTaskToken","Parameters":{"FunctionName":"f"},"End":true}}}`, "T", "Parameters"},
		{"States.ALL not last", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","Retry":[{"ErrorEquals":["States.ALL"]},{"ErrorEquals":["X"]}],"End":true}}}`, "T", "Retry[0].ErrorEquals"},
		{"bad jitter", `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","Retry":[{"ErrorEquals":["X"],"JitterStrategy":"SOME"}],"End":true}}}`, "T", "Retry[0].JitterStrategy"},
		{"two wait kinds", `{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"TimestampPath":"$.t","End":true}}}`, "W", "Seconds"},
		{"ResultPath not a reference path", `{"StartAt":"A","States":{"A":{"Type":"Pass","ResultPath":"$.a[*]","End":true}}}`, "A", "ResultPath"},
		{"no StartAt", `{"States":{"":{"Type":"Succeed"}}}`, "", "StartAt"},
		{"empty state name", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true},"":{"Type":"Succeed"}}}`, "", "States"},
		{"state name over 80 characters", `{"StartAt":"A","States":{"A":{"Type":"Pass","End":true},"` + strings.Repeat("n", 81) + `":{"Type":"Succeed"}}}`, strings.Repeat("n", 81), "States"},
		{"wrong field type", `{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","TimeoutSeconds":"10","End":true}}}`, "A", "TimeoutSeconds"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := stepfunctions.Load([]byte(c.def), nil)
			var le *stepfunctions.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("Load = %v, want a *LoadError", err)
			}
			if le.State != c.state || le.Field != c.field {
				t.Errorf("rejected state %q field %q (%v), want state %q field %q", le.State, le.Field, err, c.state, c.field)
			}
		})
	}
}

func TestLoadSubstitutes(t *testing.T) {
	def := `{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"${Fn}","End":true}}}`
	if _, err := stepfunctions.Load([]byte(def), map[string]string{"Fn": "arn:aws:lambda:us-east-1:1:function:f"}); err != nil {
		t.Fatalf("Load: %v", err)
	}
	_, err := stepfunctions.Load([]byte(def), nil)
	if err == nil || !strings.Contains(err.Error(), "${Fn}") {
		t.Fatalf("Load without the substitution = %v, want an error naming ${Fn}", err)
	}
}

const (
	inline      = `{"StartAt":"X","States":{"X":{"Type":"Succeed"}}}`
	distributed = `{"ProcessorConfig":{"Mode":"DISTRIBUTED","ExecutionType":"STANDARD"},"StartAt":"X","States":{"X":{"Type":"Succeed"}}}`
)

// mapDef is a machine of one Map state with the given extra fields.
func mapDef(fields, processor string) string {
	return `{"StartAt":"M","States":{"M":{"Type":"Map","ItemProcessor":` + processor + `,` + fields + `,"End":true}}}`
}
