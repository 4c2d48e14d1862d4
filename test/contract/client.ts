// A small typed client, written the way the SPA uses the types that
// openapi-typescript generates from shared/handler/api/openapi.json
// (`make contract` generates .build/contract/parley.d.ts and runs
// tsc --strict over both). The first half must compile; every line after a
// `// @ts-expect-error` must NOT compile, so each one proves the document
// rejects a bad shape. tsc fails on an expectation that does not error.

import type { components, operations, paths } from "parley";

type Schemas = components["schemas"];

// The JSON body of a response (never when it has none).
type Json<R> = R extends { content: { "application/json": infer B } } ? B : never;
type Ok<Op extends keyof operations, Code extends keyof operations[Op]["responses"]> = Json<operations[Op]["responses"][Code]>;
type RequestBody<Op extends keyof operations> = operations[Op] extends {
  requestBody: { content: { "application/json": infer B } };
}
  ? B
  : never;

// The transport the SPA plugs in (fetch in a browser); the contract check
// needs no DOM.
export interface Transport {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
}

export class ParleyClient {
  constructor(private readonly transport: Transport) {}

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.transport.call(method, path, body);
    if (res.status >= 400) {
      throw new ParleyError(res.body as Problem);
    }
    return res.body as T;
  }

  startConversation(input: Schemas["StartInput"]): Promise<Ok<"startConversation", 200 | 201>> {
    return this.json("POST", "/conversations", input);
  }

  listConversations(
    query: NonNullable<operations["listConversations"]["parameters"]["query"]> = {},
  ): Promise<Ok<"listConversations", 200>> {
    const params = Object.entries(query).map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`);
    return this.json("GET", "/conversations" + (params.length ? "?" + params.join("&") : ""));
  }

  assignConversation(conversationId: string, body: RequestBody<"assignConversation">): Promise<Ok<"assignConversation", 200>> {
    return this.json("PUT", `/conversations/${conversationId}/assignee`, body);
  }

  createAutomation(body: RequestBody<"createAutomation">): Promise<Ok<"createAutomation", 201>> {
    return this.json("POST", "/automations", body);
  }

  updateWorkspace(body: RequestBody<"updateWorkspace">): Promise<Ok<"updateWorkspace", 200>> {
    return this.json("PATCH", "/workspace", body);
  }

  // A DELETE answers 204 with no body.
  async deleteLabel(labelId: string): Promise<void> {
    const res = await this.transport.call("DELETE", `/labels/${labelId}`);
    if (res.status !== 204) {
      throw new ParleyError(res.body as Problem);
    }
  }
}

// Every error, 429 included, is problem+json.
type Problem = NonNullable<operations["getMe"]["responses"][429]["content"]>["application/problem+json"];
export class ParleyError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail);
  }
  get retryable(): boolean {
    return this.problem.code === "rate_limited" || this.problem.code === "unavailable";
  }
}

// ---- What an SPA writes, which must compile. ----

export async function inboxScreen(api: ParleyClient): Promise<string[]> {
  // StartInput: exactly one of phone and contactId.
  const byPhone: Schemas["StartInput"] = { phone: "+14155550123", name: "Jo Lopez" };
  const byContact: Schemas["StartInput"] = { contactId: "01JQ3M0X6R2S3T4V5W6X7Y8Z9A" };
  const conv = await api.startConversation(Math.random() < 0.5 ? byPhone : byContact);

  // A list is a page of items, with nextCursor absent on the last page.
  const lines: string[] = [];
  let cursor: string | undefined;
  do {
    const page: Schemas["ConversationPage"] = await api.listConversations({ assignee: "unassigned", limit: 25, cursor });
    for (const c of page.items) {
      lines.push(`${c.contactName}: ${c.preview}`);
    }
    cursor = page.nextCursor;
  } while (cursor !== undefined);

  // The assign body names assigneeId; unassigning is a DELETE.
  const assigned = await api.assignConversation(conv.id, { assigneeId: "3c5d2f4e-1a2b-4c3d-9e8f-0a1b2c3d4e5f" });
  lines.push(assigned.assigneeId ?? "unassigned");

  // Channel-keyed maps keep their keys.
  const replyWindow = conv.lastInboundAt?.whatsapp;
  if (replyWindow !== undefined) lines.push(`WhatsApp window opened at ${replyWindow}`);
  await api.updateWorkspace({ quietHours: { sms: { start: "21:00", end: "08:00" }, email: { start: "22:00", end: "07:00" } } });

  await api.deleteLabel("01JQ2Z9C5D6E7F8G9H0J1K2M3N");
  return lines;
}

export async function automationScreen(api: ParleyClient): Promise<string[]> {
  const created = await api.createAutomation({
    name: "Abandoned cart",
    trigger: { type: "cart.abandoned" },
    steps: [
      { type: "delay", minutes: 60 },
      { type: "message", mode: "send_now", channel: "sms", body: "You left something in your cart." },
      { type: "message", mode: "schedule", minutes: 1440, channel: "whatsapp", template: { name: "cart_reminder", params: ["Jo"] } },
      { type: "tag", remove: ["cart"] },
      { type: "manual", action: "call", instructions: "Call if still no order" },
    ],
  });
  // Steps narrow on `type`.
  return created.steps.map((step) => {
    switch (step.type) {
      case "delay":
        return `wait ${step.minutes} min`;
      case "message":
        return `${step.mode} on ${step.channel}: ${step.body ?? step.template?.name ?? "attachments"}`;
      case "label":
      case "tag":
        return `${step.type} +${(step.add ?? []).join(",")} -${(step.remove ?? []).join(",")}`;
      case "assign":
        return `assign to ${step.assigneeId ?? "the conversation's assignee"}`;
      case "manual":
        return `${step.action}: ${step.instructions}`;
      default: {
        const unknown: never = step;
        return unknown;
      }
    }
  });
}

export function describe(err: unknown): string {
  if (err instanceof ParleyError) {
    const p = err.problem;
    return `${p.status} ${p.code}${p.field ? ` (${p.field})` : ""}: ${p.detail}${err.retryable ? "; retrying" : ""}`;
  }
  return String(err);
}

// ---- Bad shapes the document must reject. ----

// StartInput: both phone and contactId, or neither.
// @ts-expect-error both
export const startBoth: Schemas["StartInput"] = { phone: "+14155550123", contactId: "01JQ3M0X6R2S3T4V5W6X7Y8Z9A" };
// @ts-expect-error neither
export const startNeither: Schemas["StartInput"] = { name: "Jo Lopez" };

// Automation steps: an unknown type, a message step without a body, a
// template or attachments, a label step that changes nothing, a step with a
// field of another type.
// @ts-expect-error unknown step type
export const stepWait: Schemas["AutomationStep"] = { type: "wait", minutes: 60 };
// @ts-expect-error a message step needs a body, a template or attachments
export const stepNoBody: Schemas["AutomationStep"] = { type: "message", mode: "send_now", channel: "sms" };
// @ts-expect-error an unknown mode
export const stepLater: Schemas["AutomationStep"] = { type: "message", mode: "later", channel: "sms", body: "Hi" };
// @ts-expect-error a label step adds or removes something
export const stepEmptyLabel: Schemas["AutomationStep"] = { type: "label" };
// @ts-expect-error minutes belong to delays, not to manual actions
export const stepMixed: Schemas["AutomationStep"] = { type: "manual", action: "call", instructions: "Call", minutes: 5 };
// @ts-expect-error an unknown trigger type
export const triggerEmptied: Schemas["Trigger"] = { type: "cart.emptied" };

// The assign body is {assigneeId}, not {userId}.
// @ts-expect-error userId
export const assignUser: RequestBody<"assignConversation"> = { userId: "3c5d2f4e-1a2b-4c3d-9e8f-0a1b2c3d4e5f" };

// A list page is {items, nextCursor}: no .list, .data or .cursor.
declare const page: Ok<"listConversations", 200>;
// @ts-expect-error .list
page.list;
// @ts-expect-error .data
page.data;
// @ts-expect-error .cursor
page.cursor;

// Channel-keyed maps take channels only; consent is kept under sms, never mms.
// @ts-expect-error fax is no channel
export const quietFax: RequestBody<"updateWorkspace"> = { quietHours: { fax: { start: "21:00", end: "08:00" } } };
// @ts-expect-error fax is no channel
export const dndFax: Schemas["ContactPatch"]["dnd"] = { fax: true };
declare const contact: Schemas["Contact"];
// @ts-expect-error consent has no mms entry
contact.consent.mms;
// @ts-expect-error a consent record's channel is never mms
export const consentMms: Schemas["ConsentRecord"]["channel"] = "mms";

// A DELETE answers 204 with no body, and never 200.
// @ts-expect-error a 204 has no content
export const deletedBody: operations["deleteLabel"]["responses"][204]["content"] = { "application/json": {} };
// @ts-expect-error no 200
export type DeletedOk = operations["deleteLabel"]["responses"][200];

// A 429 is problem+json with the Problem schema, not a bare message.
// @ts-expect-error Problem has no bare message form
export const slowDown: Problem = { message: "Too Many Requests" };

// operationIds carry no HTTP verb; the old names are gone.
// @ts-expect-error putUser
export type PutUser = operations["putUser"];
// @ts-expect-error postMessage
export type PostMessage = operations["postMessage"];

// One route cancels a run: POST /contacts/{contactId}/runs/{runId}/cancel.
export type CancelRun = paths["/contacts/{contactId}/runs/{runId}/cancel"]["post"];
// @ts-expect-error the enrollment DELETE is gone
export type CancelEnrollment = paths["/campaigns/{campaignId}/enrollments/{contactId}"]["delete"];
