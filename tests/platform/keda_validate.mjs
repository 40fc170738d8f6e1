// Validates KEDA resources (JSON documents on stdin, one array) against the ScaledObject and
// TriggerAuthentication schemas of the npm package @kubernetes-models/keda (generated from KEDA's CRDs).
// Run from a folder whose node_modules has the package (.ci/run installs it under /opt/kubernetes-models).
// Prints one JSON line: [{"kind", "name", "errors": [..]}].
import { ScaledObject } from "@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject";
import { TriggerAuthentication } from "@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication";

const kinds = { ScaledObject, TriggerAuthentication };
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const results = JSON.parse(input).map((doc) => {
    const Model = kinds[doc.kind];
    if (!Model) return { kind: doc.kind, name: doc.metadata?.name, errors: [`no KEDA schema for ${doc.kind}`] };
    try {
      new Model(doc).validate();
      return { kind: doc.kind, name: doc.metadata?.name, errors: [] };
    } catch (e) {
      return { kind: doc.kind, name: doc.metadata?.name, errors: [String(e.message || e)] };
    }
  });
  console.log(JSON.stringify(results));
});
