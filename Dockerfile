# Strata image: the S3 server (`strata server`) and the NVMe/TCP storage node
# (`strata nvmet`) from one build. Debian bookworm + Node 20, like the dev machines.
FROM node:20-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake g++ make python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/strata
COPY package.json package-lock.json ./
COPY native ./native
COPY tsconfig.json eslint.config.js ./
COPY bin ./bin
COPY src ./src
COPY test ./test
COPY bench ./bench
# npm ci builds the native addon (cmake-js, node-api-headers) and the TypeScript.
RUN npm ci && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /opt/strata
COPY --from=build /opt/strata/package.json ./
COPY --from=build /opt/strata/node_modules ./node_modules
COPY --from=build /opt/strata/bin ./bin
COPY --from=build /opt/strata/dist ./dist
COPY --from=build /opt/strata/native/build/Release/strata_native.node ./native/build/Release/strata_native.node
VOLUME ["/data"]
EXPOSE 9000 4420
ENTRYPOINT ["node", "/opt/strata/bin/strata.js"]
CMD ["server", "--data", "/data", "--listen", "0.0.0.0:9000"]
