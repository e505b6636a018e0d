import Foundation
import InferLine

extension DeploymentExport {
  /// Kubernetes: a Deployment per stage variant, and the day's schedule as CronJobs that scale them.
  enum Kubernetes: DeploymentTarget {
    static var required: [(flag: String, keyPath: KeyPath<Settings, String?>)] {
      [("--image", \.image), ("--model-repository", \.modelRepository)]
    }

    /// CronJobs fire on whole minutes: a shorter window would share its minute with the next and take its replicas.
    static func check(_ plan: DeploymentPlan) throws {
      if plan.appliesSchedule, plan.schedule.count > 1, let short = plan.schedule.firstIndex(where: { $0.seconds < 60 })
      {
        throw InputError(
          file: plan.source,
          "window \(short + 1) lasts \(String(format: "%g", plan.schedule[short].seconds)) s: the schedule's CronJobs fire once a minute at most, so a window under a minute would get the next window's replicas",
          fix: "plan with windows of a minute or more (--window 1m) for a Kubernetes schedule")
      }
    }

    /// A stage's deployment on one hardware type and batch size: the schedule may move a stage between them, so each
    /// becomes its own Deployment.
    struct Variant: Hashable {
      var stage: Int
      var hardware: String
      var batchSize: Int
    }

    /// The variants in first-use order (the deployed configuration's first; the schedule's only when it is applied),
    /// with their object names.
    static func variants(_ plan: DeploymentPlan, names: ObjectNames) -> [(variant: Variant, name: String)] {
      var seen: [Variant] = []
      func add(_ c: PipelineConfiguration) {
        for (i, s) in c.stages.enumerated() {
          let v = Variant(stage: i, hardware: s.hardware, batchSize: s.batchSize)
          if !seen.contains(v) { seen.append(v) }
        }
      }
      add(plan.configuration)
      // The schedule's other variants only when the schedule is what is applied (otherwise nothing scales them).
      if plan.appliesSchedule { for step in plan.schedule { if let c = step.configuration { add(c) } } }
      return seen.map { v in
        let primary =
          v.hardware == plan.configuration.stages[v.stage].hardware
          && v.batchSize == plan.configuration.stages[v.stage].batchSize
        guard !primary else { return (v, names.object[v.stage]) }
        let stage = plan.stages[v.stage].name
        return (
          v,
          ObjectNames.unique(
            "\(plan.pipelineName)-\(stage)-\(v.hardware)-b\(v.batchSize)",
            identity: [plan.pipelineName, stage, v.hardware, String(v.batchSize)], limit: 63)
        )
      }
    }

    static func labels(
      _ plan: DeploymentPlan, names: ObjectNames, name: String, stage: Int, indent: String
    ) -> String {
      """
      \(indent)app.kubernetes.io/name: \(yaml(name))
      \(indent)app.kubernetes.io/component: \(yaml(names.object[stage]))
      \(indent)app.kubernetes.io/part-of: \(yaml(names.pipeline))
      \(indent)app.kubernetes.io/managed-by: inferline
      """
    }

    /// Triton's ports: HTTP (and its health endpoints), gRPC, metrics.
    static let ports = [("http", 8000), ("grpc", 8001), ("metrics", 8002)]

    /// The serving container: Triton loading the stage's model from the repository, its ports, probes on its health
    /// endpoints (a startup probe gives model loading up to 10 minutes), CPU and memory requests, and the GPU.
    static func container(
      _ plan: DeploymentPlan, names: ObjectNames, settings: Settings, stage: Int, hardware: String
    ) -> String {
      let gpu = DeploymentPlan.isCPU(hardware) ? "" : "\n            nvidia.com/gpu: \"1\""
      let args =
        [
          "--model-repository=\(settings.modelRepository ?? "")", "--model-control-mode=explicit",
          "--load-model=\(names.model[stage])",
        ] + ports.map { "--\($0.0)-port=\($0.1)" }
      return """
              containers:
              - name: server
                image: \(yaml(settings.image ?? ""))
                command: ["tritonserver"]
                args:
        \(args.map { "        - \(yaml($0))" }.joined(separator: "\n"))
                ports:
        \(ports.map { "        - name: \($0.0)\n          containerPort: \($0.1)" }.joined(separator: "\n"))
                startupProbe:
                  httpGet:
                    path: /v2/health/ready
                    port: http
                  periodSeconds: 10
                  failureThreshold: 60
                readinessProbe:
                  httpGet:
                    path: /v2/health/ready
                    port: http
                  periodSeconds: 5
                livenessProbe:
                  httpGet:
                    path: /v2/health/live
                    port: http
                  periodSeconds: 10
                  failureThreshold: 3
                resources:
                  requests:
                    cpu: \(yaml(settings.cpuRequest))
                    memory: \(yaml(settings.memoryRequest))
                  limits:
                    memory: \(yaml(settings.memoryRequest))\(gpu)

        """
    }

    /// A Service per stage: its variants' pods (the stage's component label) on Triton's ports.
    static func service(_ plan: DeploymentPlan, names: ObjectNames, settings: Settings, stage: Int) -> String {
      """
      ---
      apiVersion: v1
      kind: Service
      metadata:
        name: \(yaml(names.object[stage]))
        namespace: \(yaml(settings.namespace))
        labels:
          app.kubernetes.io/part-of: \(yaml(names.pipeline))
          app.kubernetes.io/managed-by: inferline
        annotations:
          inferline.io/stage: \(yaml(plan.stages[stage].name))
      spec:
        selector:
          app.kubernetes.io/component: \(yaml(names.object[stage]))
          app.kubernetes.io/part-of: \(yaml(names.pipeline))
        ports:
      \(ports.map { "  - name: \($0.0)\n    port: \($0.1)\n    targetPort: \($0.0)" }.joined(separator: "\n"))

      """
    }

    static func files(_ plan: DeploymentPlan, names: ObjectNames, settings: Settings) -> [File] {
      let variants = variants(plan, names: names)
      var deployments = header(
        plan,
        "Kubernetes Deployments running Triton, one per stage (and per hardware and batch size it moves to), and a Service per stage"
      )
      if settings.createNamespace {
        deployments += """
          ---
          apiVersion: v1
          kind: Namespace
          metadata:
            name: \(yaml(settings.namespace))

          """
      }
      for (v, name) in variants {
        let stage = plan.stages[v.stage]
        let c = plan.configuration.stages[v.stage]
        let replicas = c.hardware == v.hardware && c.batchSize == v.batchSize ? c.replicas : 0
        let place = placement(plan, hardware: v.hardware, indent: "      ")
        deployments += """
          ---
          apiVersion: apps/v1
          kind: Deployment
          metadata:
            name: \(yaml(name))
            namespace: \(yaml(settings.namespace))
            labels:
          \(labels(plan, names: names, name: name, stage: v.stage, indent: "    "))
            annotations:
              inferline.io/stage: \(yaml(stage.name))
              inferline.io/model: \(yaml(stage.model))
              inferline.io/hardware: \(yaml(v.hardware))
              inferline.io/batch-size: "\(v.batchSize)"
          spec:
            replicas: \(replicas)
            selector:
              matchLabels:
                app.kubernetes.io/name: \(yaml(name))
            template:
              metadata:
                labels:
          \(labels(plan, names: names, name: name, stage: v.stage, indent: "        "))
              spec:
          \(place.selector)\(tolerations(hardware: v.hardware))\(container(plan, names: names, settings: settings, stage: v.stage, hardware: v.hardware))
          """
      }
      for stage in plan.stages.indices { deployments += service(plan, names: names, settings: settings, stage: stage) }
      // Scheduled scaling only where it is the recommended provisioning; otherwise the Deployments' counts are the
      // busiest window's, as the recommended provisioning starts from them.
      guard plan.appliesSchedule else { return [File(path: "deployments.yaml", contents: deployments)] }
      switch settings.scaler {
      case .cronJobs:
        return [
          File(path: "deployments.yaml", contents: deployments),
          File(
            path: "schedule.yaml", contents: cronSchedule(plan, variants: variants, names: names, settings: settings)),
        ]
      case .keda:
        return [
          File(path: "deployments.yaml", contents: deployments),
          File(path: "keda.yaml", contents: kedaSchedule(plan, variants: variants, settings: settings)),
        ]
      }
    }

    /// One cron trigger of a KEDA `ScaledObject`: `replicas` from `start` to `end`, minutes of the day (UTC);
    /// `end` may be earlier than `start` (the run wraps past midnight, which KEDA's cron scaler allows).
    struct CronTrigger: Equatable {
      var start: Int
      var end: Int
      var replicas: Int
    }

    /// A variant's replica count at each of the day's windows (`dailySteps`); a window without a plan keeps the
    /// count before it (the day wraps).
    static func dailyCounts(
      _ steps: [(minuteOfDay: Int, configuration: PipelineConfiguration?)], variant v: Variant
    )
      -> [Int]
    {
      var counts: [Int?] = steps.map { step in
        step.configuration.map { c in
          let s = c.stages[v.stage]
          return s.hardware == v.hardware && s.batchSize == v.batchSize ? s.replicas : 0
        }
      }
      // Before the first planned window, the day's last planned count holds (the day wraps).
      guard var last = counts.compactMap({ $0 }).last else { return counts.map { _ in 0 } }
      for i in counts.indices {
        if let c = counts[i] { last = c } else { counts[i] = last }
      }
      return counts.map { $0! }
    }

    /// A variant's day as KEDA cron triggers over its least count (`minReplicaCount`): one trigger per run of
    /// consecutive windows with the same higher count, starting `lead` minutes early where the count rises (new
    /// capacity serves when its window starts) and ending when the next run starts. Nil when the count never
    /// changes (the Deployment's own count holds all day).
    /// - Complexity: O(windows).
    static func kedaTriggers(
      steps: [(minuteOfDay: Int, configuration: PipelineConfiguration?)], variant v: Variant, lead: Int
    ) -> (least: Int, most: Int, triggers: [CronTrigger])? {
      let counts = dailyCounts(steps, variant: v)
      guard let least = counts.min(), let most = counts.max(), least != most else { return nil }
      // Start at a window whose count differs from the one before, so runs do not straddle the list's end.
      let n = counts.count
      let first = (0..<n).first { counts[$0] != counts[(($0 - 1) % n + n) % n] }!
      var triggers: [CronTrigger] = []
      var k = 0
      while k < n {
        let i = (first + k) % n
        var length = 1
        while k + length < n && counts[(first + k + length) % n] == counts[i] { length += 1 }
        let before = counts[((i - 1) % n + n) % n]
        let next = (first + k + length) % n
        if counts[i] > least {
          let start = steps[i].minuteOfDay, end = steps[next].minuteOfDay
          let span = ((end - start) % 1440 + 1440) % 1440
          // Early by the lead where the count rises, never so early that the trigger covers the whole day.
          let early = counts[i] > before ? min(lead, max(0, 1439 - span)) : 0
          triggers.append(
            CronTrigger(start: ((start - early) % 1440 + 1440) % 1440, end: end, replicas: counts[i]))
        }
        k += length
      }
      return (least, most, triggers)
    }

    /// The schedule as KEDA `ScaledObject`s, one per Deployment whose count changes over the day. KEDA takes the
    /// highest active trigger and the least count outside them; its scale-down stabilisation (300 s by default)
    /// keeps the old replicas a little past each window's start.
    static func kedaSchedule(
      _ plan: DeploymentPlan, variants: [(variant: Variant, name: String)], settings: Settings
    ) -> String {
      var text = header(
        plan,
        "Scheduled scaling with KEDA (keda.sh/v1alpha1 ScaledObjects, cron triggers in UTC): each Deployment's least count all day and each window's higher count, asked a provisioning delay before the window starts"
      )
      let steps = dailySteps(plan)
      for (v, name) in variants {
        let lead = Int(((plan.provisioningSeconds[v.hardware] ?? 0) / 60).rounded(.up))
        guard let day = kedaTriggers(steps: steps, variant: v, lead: lead) else { continue }
        text += """
          ---
          apiVersion: keda.sh/v1alpha1
          kind: ScaledObject
          metadata:
            name: \(yaml(name))
            namespace: \(yaml(settings.namespace))
          spec:
            scaleTargetRef:
              apiVersion: apps/v1
              kind: Deployment
              name: \(yaml(name))
            minReplicaCount: \(day.least)
            maxReplicaCount: \(day.most)
            triggers:

          """
        for t in day.triggers {
          text += """
                - type: cron
                  metadata:
                    timezone: Etc/UTC
                    start: "\(t.start % 60) \(t.start / 60) * * *"
                    end: "\(t.end % 60) \(t.end / 60) * * *"
                    desiredReplicas: "\(t.replicas)"

            """
        }
      }
      return text
    }

    /// The hour-by-hour schedule as CronJobs that run `kubectl scale` at each window's start (UTC) for every
    /// deployment whose count changes then, with the service account and role they need. Windows repeat daily: a log
    /// of several days is scheduled from its last day.
    static func cronSchedule(
      _ plan: DeploymentPlan, variants: [(variant: Variant, name: String)], names: ObjectNames, settings: Settings
    ) -> String {
      let account = ObjectNames.label("\(names.pipelineObject)-scaler", limit: 63)
      var text = header(
        plan,
        "Scheduled scaling: CronJobs that add each window's new replicas a provisioning delay before it starts and take the old down at its start, once the new are ready (UTC)"
      )
      text += """
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: \(yaml(account))
          namespace: \(yaml(settings.namespace))
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: Role
        metadata:
          name: \(yaml(account))
          namespace: \(yaml(settings.namespace))
        rules:
        - apiGroups: ["apps"]
          resources: ["deployments", "deployments/scale"]
          verbs: ["get", "list", "watch", "patch", "update"]
        - apiGroups: ["apps"]
          resources: ["replicasets"]
          verbs: ["get", "list", "watch"]
        ---
        apiVersion: rbac.authorization.k8s.io/v1
        kind: RoleBinding
        metadata:
          name: \(yaml(account))
          namespace: \(yaml(settings.namespace))
        subjects:
        - kind: ServiceAccount
          name: \(yaml(account))
          namespace: \(yaml(settings.namespace))
        roleRef:
          apiGroup: rbac.authorization.k8s.io
          kind: Role
          name: \(yaml(account))

        """
      let steps = dailySteps(plan)
      for (k, step) in steps.enumerated() {
        // Only where the plan changes from the window before (the day wraps around).
        let before = steps[(k + steps.count - 1) % steps.count].configuration
        guard let configuration = step.configuration, steps.count == 1 || configuration != before else { continue }
        var up: [(name: String, command: String)] = [], down: [String] = []
        var upHardware: Set<String> = []
        for (v, name) in variants {
          let s = configuration.stages[v.stage]
          let count = s.hardware == v.hardware && s.batchSize == v.batchSize ? s.replicas : 0
          let previous = before.map { b -> Int in
            let p = b.stages[v.stage]
            return p.hardware == v.hardware && p.batchSize == v.batchSize ? p.replicas : 0
          }
          guard count != previous || steps.count == 1 else { continue }
          let command = "kubectl scale deployment/\(name) --replicas=\(count) -n \(shellWord(settings.namespace))"
          // New capacity first, then the old goes: no moment with less than either plan.
          if count >= (previous ?? 0) {
            up.append((name, command))
            upHardware.insert(v.hardware)
          } else {
            down.append(command)
          }
        }
        guard !up.isEmpty || !down.isEmpty else { continue }
        let minute = step.minuteOfDay
        let at = String(format: "%02d%02d", minute / 60, minute % 60)
        // New capacity is asked for a provisioning delay ahead (the slowest hardware it adds), so it serves when the
        // window starts; the old goes at the start, once the new is ready (`rollout status` fails after 15 minutes,
        // and the old stays).
        let lead =
          steps.count == 1
          ? 0
          : Int(((upHardware.map { plan.provisioningSeconds[$0] ?? 0 }.max() ?? 0) / 60).rounded(.up))
        if !up.isEmpty && (lead > 0 || down.isEmpty) {
          text += cronJob(
            name: ObjectNames.label("\(names.pipelineObject)-up-\(at)", limit: 52),
            minute: ((minute - lead) % 1440 + 1440) % 1440, commands: up.map(\.command), account: account,
            settings: settings)
        }
        if !down.isEmpty {
          let wait = up.map {
            "kubectl rollout status deployment/\($0.name) --timeout=15m -n \(shellWord(settings.namespace))"
          }
          text += cronJob(
            name: ObjectNames.label("\(names.pipelineObject)-at-\(at)", limit: 52), minute: minute,
            commands: (lead > 0 ? wait : up.map(\.command) + wait) + down, account: account, settings: settings)
        }
      }
      return text
    }

    /// A CronJob that runs `commands` in order (each only if the one before succeeded) at a minute of the day, UTC.
    static func cronJob(name: String, minute: Int, commands: [String], account: String, settings: Settings) -> String {
      """
      ---
      apiVersion: batch/v1
      kind: CronJob
      metadata:
        name: \(yaml(name))
        namespace: \(yaml(settings.namespace))
      spec:
        schedule: "\(minute % 60) \(minute / 60) * * *"
        timeZone: Etc/UTC
        concurrencyPolicy: Forbid
        jobTemplate:
          spec:
            backoffLimit: 3
            template:
              spec:
                serviceAccountName: \(yaml(account))
                restartPolicy: OnFailure
                containers:
                - name: scale
                  image: \(yaml(settings.kubectlImage))
                  command: ["/bin/sh", "-c", \(yaml(commands.joined(separator: " && ")))]

      """
    }

    /// A GPU stage tolerates the GPU nodes' taint (`nvidia.com/gpu`, as the GPU operator and managed node pools
    /// set it); a CPU stage needs none.
    static func tolerations(hardware: String) -> String {
      DeploymentPlan.isCPU(hardware)
        ? ""
        : "      tolerations:\n      - key: nvidia.com/gpu\n        operator: Exists\n        effect: NoSchedule\n"
    }

    /// A word the shell reads as itself.
    static func shellWord(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    /// The last day's windows (each at its minute of the day, UTC), in order.
    static func dailySteps(_ plan: DeploymentPlan) -> [(minuteOfDay: Int, configuration: PipelineConfiguration?)] {
      let day: Int64 = 86_400_000_000_000
      guard let last = plan.schedule.map(\.start).max() else { return [] }
      let from = last - day + 1
      var seen = Set<Int>()
      var steps: [(Int, PipelineConfiguration?)] = []
      for step in plan.schedule.reversed() where step.start >= from {
        let minute = Int(((step.start % day + day) % day) / 60_000_000_000)
        if seen.insert(minute).inserted { steps.append((minute, step.configuration)) }
      }
      return steps.reversed()
    }

    // MARK: - Ray Serve
  }
}
