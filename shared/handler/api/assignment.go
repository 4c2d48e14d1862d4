package api

import (
	"net/http"

	"github.com/parley-inbox/parley/shared/inbox"
)

// Assignment: agents' availability and capacity (their own small items,
// not the user record PUT /users/{userId} replaces), and the rules.

func (a *API) listAgents(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	agents, err := a.svc.Agents(r.Context(), actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listPage[*inbox.Agent]{Items: agents})
	return nil
}

func (a *API) setAvailability(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in struct {
		Availability inbox.Availability `json:"availability"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	agent, err := a.svc.SetAvailability(r.Context(), actor, r.PathValue("userId"), in.Availability)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, agent)
	return nil
}

func (a *API) setCapacity(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in struct {
		// Capacity null (or left out) is no limit.
		Capacity *int `json:"capacity"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	agent, err := a.svc.SetCapacity(r.Context(), actor, r.PathValue("userId"), in.Capacity)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, agent)
	return nil
}

func (a *API) listAssignmentRules(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	rules, err := a.svc.AssignmentRules(r.Context(), actor)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, listPage[*inbox.AssignmentRule]{Items: rules})
	return nil
}

func (a *API) createAssignmentRule(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.RuleInput
	if err := decode(r, &in); err != nil {
		return err
	}
	rule, err := a.svc.CreateAssignmentRule(r.Context(), actor, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, rule)
	return nil
}

func (a *API) getAssignmentRule(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	rule, err := a.svc.GetAssignmentRule(r.Context(), actor, r.PathValue("ruleId"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rule)
	return nil
}

func (a *API) updateAssignmentRule(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	var in inbox.RuleInput
	if err := decode(r, &in); err != nil {
		return err
	}
	rule, err := a.svc.UpdateAssignmentRule(r.Context(), actor, r.PathValue("ruleId"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rule)
	return nil
}

func (a *API) deleteAssignmentRule(w http.ResponseWriter, r *http.Request, actor inbox.Actor) error {
	if err := a.svc.DeleteAssignmentRule(r.Context(), actor, r.PathValue("ruleId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
